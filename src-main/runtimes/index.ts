import type { LayoverApi } from '../api/layover-api.js';
import { applyDockerConfig, previewDockerConfig } from './docker-config.js';
import { getDockerStatus } from './docker-status.js';
import { pullThroughLayover } from './pull.js';
import { runtimeSnippets } from './runtime-snippets.js';

/**
 * src-main/runtimes: pointing Docker, Podman and containerd at Layover.
 * The app layer wires createRuntimesApi into LayoverApi; the command line
 * (src-main/cli/runtime-commands.ts) uses the functions directly.
 */
export { RuntimeError } from './errors.js';
export { applyDockerConfig, previewDockerConfig, type DockerConfigOptions, type DockerConfigResult } from './docker-config.js';
export { getDockerStatus, inspectDocker, type DockerReport, type DockerStatusOptions } from './docker-status.js';
export { pullThroughLayover, type PullOptions, type PullProgress, type PullResult } from './pull.js';
export { createPullProgressDisplay } from './pull-progress.js';
export { containerdHostsTomls, podmanRegistriesConf, runtimeSnippets, type SnippetOptions } from './runtime-snippets.js';
export { snippetsFor, writeSnippets, type RuntimeName } from './runtime-files.js';
export { parseImageReference, mirrorReference, formatReference, type ImageReference } from './image-reference.js';
export { dockerConnectionCandidates, type DockerConnection } from './docker-engine.js';

/** What the runtimes need to know about the running Layover, read at each call so settings changes apply. */
export interface RuntimesContext {
  /** host:port Docker is pointed at, e.g. "127.0.0.1:5050" (Status.mirrorAddress). */
  mirrorAddress(): string;
  /** The configured registry names, e.g. ["docker.io", "dtr.example.com"]. */
  registries(): string[];
  /** Settings.defaultRegistry. */
  defaultRegistry(): string;
}

export type RuntimesApi = Pick<
  LayoverApi,
  'getDockerStatus' | 'previewDockerConfig' | 'applyDockerConfig' | 'pullThroughLayover' | 'runtimeSnippets'
>;

/** The runtimes' part of LayoverApi, for the app layer to spread into its implementation. */
export function createRuntimesApi(context: RuntimesContext): RuntimesApi {
  return {
    getDockerStatus: () => getDockerStatus({ mirror: context.mirrorAddress() }),
    previewDockerConfig: ({ revert }) => previewDockerConfig({ mirror: context.mirrorAddress(), revert }),
    applyDockerConfig: async ({ revert }) => (await applyDockerConfig({ mirror: context.mirrorAddress(), revert })).status,
    pullThroughLayover: async ({ reference }) => {
      const result = await pullThroughLayover({ reference, mirror: context.mirrorAddress(), defaultRegistry: context.defaultRegistry() });
      return { reference: result.reference, digest: result.digest };
    },
    runtimeSnippets: async () => runtimeSnippets({
      mirror: context.mirrorAddress(),
      registries: context.registries(),
      defaultRegistry: context.defaultRegistry(),
    }),
  };
}
