/**
 * What the app hands the demo: a Layover core of its own and Docker, from the
 * rooms that own them (app and runtimes). The demo imports neither.
 */
import { pino } from 'pino';
import type { DemoApi, DemoHost, DemoServiceOptions } from '../demo/demo-service.js';
import { createDemoApi } from '../demo/demo-service.js';
import type { DemoNeeds } from '../demo/demo-needs.js';
import { demoProfiles, runDemoScenario, type DemoScenarioOptions } from '../demo/demo-scenario.js';
import type { DemoResult } from '../api/types.js';
import { dockerClient, findDockerEngine, type DockerConnection } from '../runtimes/docker-engine.js';
import { startDockerPull } from '../runtimes/docker-pull-stream.js';
import { LayoverCore } from './layover.js';
import { formatHostPort } from './listen.js';
import { defaultSettings, parseSettings } from './settings.js';

export type { DemoClientChoice } from '../demo/demo-clients.js';

/** The ids of the demo's link profiles, the default first: for `layover demo --help`. */
export function demoLinkIds(): string[] {
  return demoProfiles().flatMap((profile) => (profile.id ? [profile.id] : []));
}

export interface DemoWiringOptions {
  /** Where to look for Docker (default: as the docker CLI would, DOCKER_HOST first). */
  dockerCandidates?: DockerConnection[];
}

export function demoNeeds(options: DemoWiringOptions = {}): DemoNeeds {
  return {
    startCore: async ({ dataDir, registryName, upstreamUrl, logger }) => {
      const settings = parseSettings({
        ...defaultSettings(),
        listen: '127.0.0.1:0',
        admin: '127.0.0.1:0',
        defaultRegistry: registryName,
        registries: [{ name: registryName, endpoints: [{ url: upstreamUrl }] }],
        firstRunDone: true,
      }, 'the demo');
      const core = new LayoverCore({ dataDir, settings, logger: logger ?? pino({ level: 'silent' }), announce: false });
      try {
        await core.start();
      } catch (error) {
        await core.stop().catch(() => undefined);
        throw error;
      }
      return { url: `http://${formatHostPort(core.mirrorAddress!)}`, stop: () => core.stop() };
    },
    connectDocker: async () => {
      const engine = await findDockerEngine(options.dockerCandidates);
      // The engine's own client times out quick questions; a pull over a slow link takes as long as it takes.
      const docker = await dockerClient(engine.connection);
      return {
        version: engine.version,
        pull: async (image, tag, onEvent) => {
          const pull = await startDockerPull(docker, image, tag, onEvent);
          return { finished: pull.finished, abandon: () => pull.stream.destroy() };
        },
        removeImage: async (name) => {
          try {
            await docker.getImage(name).remove({ force: true });
          } catch (error) {
            if ((error as { statusCode?: number }).statusCode !== 404) throw error;
          }
        },
      };
    },
  };
}

/** The demo's part of LayoverApi, with what it needs handed over. */
export function createDemoService(host: DemoHost, options: Omit<DemoServiceOptions, 'needs'> & DemoWiringOptions = {}): DemoApi {
  const { dockerCandidates, ...rest } = options;
  return createDemoApi(host, { ...rest, needs: demoNeeds({ ...(dockerCandidates ? { dockerCandidates } : {}) }) });
}

/** One run of the demo in this process, with what it needs handed over. */
export function runDemo(options: Omit<DemoScenarioOptions, 'needs'> & DemoWiringOptions = {}): Promise<DemoResult> {
  const { dockerCandidates, ...rest } = options;
  return runDemoScenario({ ...rest, needs: demoNeeds({ ...(dockerCandidates ? { dockerCandidates } : {}) }) });
}
