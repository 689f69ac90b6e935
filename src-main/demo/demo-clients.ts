/**
 * Who pulls in the demo: the real Docker Engine when one answers (through
 * dockerode, as `docker pull` would), else Layover's own client, which
 * verifies every byte. Both pull by a registry's loopback address, which
 * Docker treats as an insecure (plain HTTP) registry without configuration.
 */
import { abortable } from '../core/upstream/bandwidth.js';
import type { DemoDocker, DemoNeeds } from './demo-needs.js';
import { pullImage } from './pull-client.js';

export interface DemoPullTarget {
  /** http://127.0.0.1:PORT */
  registryUrl: string;
  repository: string;
  tag: string;
  /** The image's layers, so Docker's per-layer progress adds up to image bytes. */
  layers: ReadonlyArray<{ digest: string; size: number }>;
}

export interface DemoClient {
  readonly kind: 'docker' | 'layover';
  /** "Docker 20.10.24" or "Layover's verifying client". */
  readonly description: string;
  /** Pulls the image; `onBytes` gets the image bytes received so far. Rejects as soon as `signal` aborts. */
  pull(target: DemoPullTarget, onBytes: (bytesDone: number) => void, signal: AbortSignal): Promise<void>;
  /** Drops what the pull left behind, so the next pull downloads everything again. */
  forget(target: DemoPullTarget): Promise<void>;
}

export type DemoClientChoice = 'auto' | 'docker' | 'layover';

/** Docker if asked for or reachable; `auto` falls back to Layover's client and says why. */
export async function chooseDemoClient(choice: DemoClientChoice, needs: Pick<DemoNeeds, 'connectDocker'>): Promise<{ client: DemoClient; note?: string }> {
  if (choice === 'layover') return { client: layoverClient() };
  try {
    return { client: dockerDemoClient(await needs.connectDocker()) };
  } catch (error) {
    if (choice === 'docker') throw error;
    return { client: layoverClient(), note: `${error instanceof Error ? error.message : String(error)}; pulling with Layover's own client instead` };
  }
}

function layoverClient(): DemoClient {
  return {
    kind: 'layover',
    description: "Layover's verifying client",
    pull: ({ registryUrl, repository, tag }, onBytes, signal) =>
      untilAborted(pullImage({ registryUrl, repository, tag, onProgress: ({ bytesDone }) => onBytes(bytesDone) }).then(() => undefined), signal),
    // Nothing is kept between pulls: every pull downloads every byte.
    forget: async () => {},
  };
}

function dockerDemoClient(docker: DemoDocker): DemoClient {
  return {
    kind: 'docker',
    description: `Docker ${docker.version}`,
    pull: (target, onBytes, signal) => dockerPull(docker, target, onBytes, signal),
    forget: (target) => docker.removeImage(imageName(target)),
  };
}

/** "127.0.0.1:PORT/demo/app:1.0": the registry is named by its address, as a person would type it. */
export function imageName({ registryUrl, repository, tag }: DemoPullTarget): string {
  return `${new URL(registryUrl).host}/${repository}:${tag}`;
}


/** Docker names a layer in its progress by the first 12 hex digits of its digest. */
const layerId = (digest: string) => digest.slice('sha256:'.length, 'sha256:'.length + 12);
/** Statuses after which a layer's bytes are all there. */
const LAYER_DOWNLOADED = /^(Verifying Checksum|Download complete|Extracting|Pull complete|Already exists)/;

async function dockerPull(docker: DemoDocker, target: DemoPullTarget, onBytes: (bytesDone: number) => void, signal: AbortSignal): Promise<void> {
  const sizes = new Map(target.layers.map((layer) => [layerId(layer.digest), layer.size]));
  const received = new Map<string, number>();
  const name = imageName(target);
  const pull = await docker.pull(name.slice(0, name.lastIndexOf(':')), target.tag, (event) => {
    const size = event.id === undefined ? undefined : sizes.get(event.id);
    if (size === undefined || event.id === undefined) return;
    if (LAYER_DOWNLOADED.test(event.status ?? '')) received.set(event.id, size);
    else if (event.status === 'Downloading' && event.progressDetail?.current !== undefined) received.set(event.id, Math.min(size, event.progressDetail.current));
    else return;
    onBytes([...received.values()].reduce((sum, bytes) => sum + bytes, 0));
  });
  const finished = pull.finished.then(
    () => undefined,
    (error: Error) => {
      throw new Error(`docker pull ${name}: ${error.message}`);
    },
  );
  // Closing the request makes dockerd abandon the pull.
  await untilAborted(finished, signal, () => pull.abandon());
}

/**
 * The work, or a rejection the moment `signal` aborts; `onAbort` then lets
 * the work stop early. An abandoned work settles on its own later, unheard.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal, onAbort?: () => void): Promise<T> {
  work.catch(() => undefined);
  if (onAbort && signal.aborted) onAbort();
  else if (onAbort) {
    signal.addEventListener('abort', onAbort, { once: true });
    const forget = () => signal.removeEventListener('abort', onAbort);
    work.then(forget, forget);
  }
  return abortable(work, signal);
}
