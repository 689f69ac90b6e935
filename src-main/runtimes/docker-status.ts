import type { DockerStatus } from '../api/types.js';
import { locateDaemonJson } from './daemon-json-location.js';
import {
  currentEnvironment, dockerConnectionCandidates, findDockerEngine,
  type DockerConnection, type DockerEnvironment,
} from './docker-engine.js';
import { findDockerd } from './dockerd-process.js';
import { errorMessage } from './errors.js';
import { isSameMirror, parseMirrorAddress } from './mirror-address.js';

export interface DockerStatusOptions {
  /** Layover's mirror address, when Layover is running; without it usesLayover is false. */
  mirror?: string;
  candidates?: DockerConnection[];
  environment?: DockerEnvironment;
}

/** DockerStatus plus what the command line also shows. */
export interface DockerReport {
  status: DockerStatus;
  address?: string;
  usesContainerdImageStore: boolean;
}

export async function getDockerStatus(options: DockerStatusOptions = {}): Promise<DockerStatus> {
  return (await inspectDocker(options)).status;
}

export async function inspectDocker(options: DockerStatusOptions = {}): Promise<DockerReport> {
  const environment = options.environment ?? currentEnvironment();
  try {
    const engine = await findDockerEngine(options.candidates ?? dockerConnectionCandidates(environment));
    const mirror = options.mirror === undefined ? undefined : parseMirrorAddress(options.mirror);
    const dockerd = engine.connection.local && !engine.isDesktop
      ? await findDockerd(environment, undefined, engine.connection.address)
      : undefined;
    const status: DockerStatus = {
      available: true,
      version: engine.version,
      isDesktop: engine.isDesktop,
      mirrors: engine.mirrors,
      usesLayover: mirror !== undefined && engine.mirrors.some((entry) => isSameMirror(entry, mirror)),
      daemonJsonPath: engine.connection.local ? await locateDaemonJson(environment, engine, dockerd) : undefined,
    };
    return { status, address: engine.connection.address, usesContainerdImageStore: engine.usesContainerdImageStore };
  } catch (error) {
    return { status: { available: false, mirrors: [], usesLayover: false, error: errorMessage(error) }, usesContainerdImageStore: false };
  }
}
