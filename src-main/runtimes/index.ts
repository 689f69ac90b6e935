import type { LayoverApi } from '../api/layover-api.js';
import { applyDockerConfig, previewDockerConfig } from './docker-config.js';
import { getDockerStatus } from './docker-status.js';
import { PullCheckCache, recordWitness } from './pull-check.js';
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
export { containerdHostsTomls, podmanRegistriesConf, runtimeSnippets, type SnippetOptions } from './runtime-snippets.js';
export { snippetsFor, writeSnippets, type RuntimeName } from './runtime-files.js';
export { parseImageReference, mirrorReference, formatReference, type ImageReference } from './image-reference.js';
export { dockerConnectionCandidates, type DockerConnection } from './docker-engine.js';
export { checkDockerPulls, mirrorWitness, type ProbeWitness } from './pull-check.js';

/** What the runtimes need to know about the running Layover, read at each call so settings changes apply. */
export interface RuntimesContext {
  /** host:port Docker is pointed at, e.g. "127.0.0.1:5050" (Status.mirrorAddress). */
  mirrorAddress(): string;
  /** The configured registry names, e.g. ["docker.io", "dtr.example.com"]. */
  registries(): string[];
  /** Settings.defaultRegistry. */
  defaultRegistry(): string;
  /** Whether the pull probe with this nonce reached this Layover's mirror (core telemetry's record). */
  probeArrived(nonce: string): boolean;
}

export type RuntimesApi = Pick<
  LayoverApi,
  'getDockerStatus' | 'previewDockerConfig' | 'applyDockerConfig' | 'pullThroughLayover' | 'runtimeSnippets'
>;

/** The runtimes' part of LayoverApi, for the app layer to spread into its implementation. */
export function createRuntimesApi(context: RuntimesContext): RuntimesApi {
  const witness = recordWitness((nonce) => context.probeArrived(nonce));
  // The tray asks for Docker's status every half minute: the pull check is repeated only every few minutes, or on request.
  const pullChecks = new PullCheckCache();
  return {
    getDockerStatus: (args) => getDockerStatus({
      mirror: context.mirrorAddress(),
      witness,
      checkPulls: (key, run) => pullChecks.get(key, run, { fresh: Boolean(args?.recheck) }),
    }),
    previewDockerConfig: ({ revert }) => previewDockerConfig({ mirror: context.mirrorAddress(), revert }),
    applyDockerConfig: async ({ revert }) => {
      pullChecks.forget();
      return (await applyDockerConfig({ mirror: context.mirrorAddress(), revert, witness })).status;
    },
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
