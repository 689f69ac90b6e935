import type { Logger } from 'pino';

/**
 * What the demo needs from rooms it may not import: a Layover core of its
 * own, and Docker. The app hands both over (app/demo-wiring.ts), so the demo
 * stays a feature that imports only core and api.
 */
export interface DemoNeeds {
  /** Starts a Layover core of its own: data in `dataDir`, any free loopback port, `upstreamUrl` its only registry. */
  startCore(options: { dataDir: string; registryName: string; upstreamUrl: string; logger?: Logger }): Promise<DemoCore>;
  /** Finds the Docker Engine as the docker CLI would (DOCKER_HOST first), or rejects with why there is none. */
  connectDocker(): Promise<DemoDocker>;
}

export interface DemoCore {
  /** http://127.0.0.1:PORT of its mirror. */
  readonly url: string;
  stop(): Promise<void>;
}

/** One line of the Engine's pull progress, as much of it as the demo reads. */
export interface DockerPullEvent {
  id?: string;
  status?: string;
  progressDetail?: { current?: number };
}

export interface DemoDocker {
  /** "20.10.24" */
  readonly version: string;
  /** Starts `docker pull`; `finished` rejects with the Engine's message, `abandon` makes dockerd give the pull up. */
  pull(image: string, tag: string, onEvent: (event: DockerPullEvent) => void): Promise<{ finished: Promise<unknown>; abandon(): void }>;
  /** Removes an image; one that is not there is no error. */
  removeImage(name: string): Promise<void>;
}
