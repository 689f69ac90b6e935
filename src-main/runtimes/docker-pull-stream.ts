import type Docker from 'dockerode';

/** One line of the Engine's pull progress stream. */
export interface DockerProgressEvent {
  id?: string;
  status?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

export interface DockerPull {
  /** Destroying it makes dockerd abandon the pull. */
  stream: NodeJS.ReadableStream & { destroy(): void };
  /** Resolves with the digest Docker reports; rejects with the Engine's own message. */
  finished: Promise<string | undefined>;
}

/**
 * `docker pull` through the Engine API, followed to its end: the one place
 * that reads the progress stream, for `layover pull` and the demo alike. An
 * error event in the stream (how the Engine reports most pull failures)
 * rejects like a failed request.
 */
export async function startDockerPull(docker: Docker, fromImage: string, tag: string, onEvent?: (event: DockerProgressEvent) => void): Promise<DockerPull> {
  const stream = (await docker.createImage({ fromImage, tag })) as DockerPull['stream'];
  let digest: string | undefined;
  const finished = new Promise<string | undefined>((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve(digest)), (event: DockerProgressEvent) => {
      if (event.error !== undefined) {
        reject(new Error(event.errorDetail?.message ?? event.error));
        return;
      }
      digest = /^Digest: (\S+)/.exec(event.status ?? '')?.[1] ?? digest;
      onEvent?.(event);
    });
  });
  return { stream, finished };
}
