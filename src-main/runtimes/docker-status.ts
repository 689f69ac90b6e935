import type { DockerPullCheck, DockerStatus } from '../api/types.js';
import { readRecordedMirror } from './docker-config.js';
import { locateDaemonJson } from './daemon-json-location.js';
import {
  currentEnvironment, dockerConnectionCandidates, findDockerEngine,
  type DockerConnection, type DockerEngine, type DockerEnvironment,
} from './docker-engine.js';
import { findDockerd } from './dockerd-process.js';
import { errorMessage } from './errors.js';
import { isSameMirror, mirrorForEngine, mirrorUrl, parseMirrorAddress, type MirrorAddress } from './mirror-address.js';
import { checkDockerPulls, mirrorWitness, type ProbeWitness } from './pull-check.js';

export interface DockerStatusOptions {
  /** Layover's mirror address, when Layover is running; else the mirror configure recorded beside daemon.json. */
  mirror?: string;
  candidates?: DockerConnection[];
  environment?: DockerEnvironment;
  /** Who says whether a probe arrived (default: the mirror itself, over HTTP). */
  witness?: ProbeWitness;
  /**
   * Whether Docker's pulls reach Layover, checked when Layover is among its
   * mirrors. Default: a fresh check. The dashboard passes its cache, so that
   * status polls do not probe every time.
   */
  checkPulls?: (key: string, run: () => Promise<DockerPullCheck>) => Promise<DockerPullCheck>;
}

/** DockerStatus plus what the command line also shows. */
export interface DockerReport {
  status: DockerStatus;
  address?: string;
  usesContainerdImageStore: boolean;
  /** The mirror status compared against, when there was one: the running Layover's, or the one configure recorded. */
  mirror?: MirrorAddress;
}

export async function getDockerStatus(options: DockerStatusOptions = {}): Promise<DockerStatus> {
  return (await inspectDocker(options)).status;
}

export async function inspectDocker(options: DockerStatusOptions = {}): Promise<DockerReport> {
  const environment = options.environment ?? currentEnvironment();
  try {
    const engine = await findDockerEngine(options.candidates ?? dockerConnectionCandidates(environment));
    const dockerd = engine.connection.local && !engine.isDesktop
      ? await findDockerd(environment, undefined, engine.connection.address)
      : undefined;
    const daemonJsonPath = engine.connection.local ? await locateDaemonJson(environment, engine, dockerd) : undefined;
    const mirror = options.mirror === undefined ? await recordedMirror(daemonJsonPath) : parseMirrorAddress(options.mirror);
    const layover = mirror === undefined ? undefined : mirrorForEngine(mirror, engine);
    const listed = mirror === undefined ? undefined : listedForm(engine, [layover!, mirror]);
    const pullCheck = listed === undefined ? undefined : await checkPulls(options, engine, listed);
    const status: DockerStatus = {
      available: true,
      version: engine.version,
      isDesktop: engine.isDesktop,
      mirrors: engine.mirrors,
      usesLayover: listed !== undefined,
      ...(layover ? { layoverMirror: mirrorUrl(layover) } : {}),
      ...(pullCheck ? { pullCheck } : {}),
      daemonJsonPath,
    };
    return { status, address: engine.connection.address, usesContainerdImageStore: engine.usesContainerdImageStore, mirror };
  } catch (error) {
    return { status: { available: false, mirrors: [], usesLayover: false, error: errorMessage(error) }, usesContainerdImageStore: false };
  }
}

async function recordedMirror(daemonJsonPath: string | undefined): Promise<MirrorAddress | undefined> {
  return daemonJsonPath === undefined ? undefined : readRecordedMirror(daemonJsonPath);
}

/**
 * The form of Layover's address the engine lists, if any: the one it can
 * reach, or the loopback one that a Docker Desktop VM cannot (which is then
 * reported, not taken for working).
 */
function listedForm(engine: DockerEngine, forms: MirrorAddress[]): MirrorAddress | undefined {
  return forms.find((form) => engine.mirrors.some((entry) => isSameMirror(entry, form)));
}

function checkPulls(options: DockerStatusOptions, engine: DockerEngine, mirror: MirrorAddress): Promise<DockerPullCheck> {
  const run = () => checkDockerPulls({
    connection: engine.connection,
    engine,
    mirror,
    witness: options.witness ?? mirrorWitness(mirror),
  });
  const key = `${engine.connection.address} ${engine.mirrors.join(',')} ${mirrorUrl(mirror)}`;
  return options.checkPulls ? options.checkPulls(key, run) : run();
}
