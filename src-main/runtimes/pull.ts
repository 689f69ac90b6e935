import type Docker from 'dockerode';
import { dockerClient, dockerConnectionCandidates, findDockerEngine, type DockerConnection } from './docker-engine.js';
import { errorMessage, RuntimeError } from './errors.js';
import { DOCKER_HUB, formatReference, mirrorReference, parseImageReference, type ImageReference } from './image-reference.js';
import { isLoopback, parseMirrorAddress } from './mirror-address.js';
import { startDockerPull } from './docker-pull-stream.js';

/**
 * `layover pull`: Docker's registry-mirrors only ever mirror Docker Hub, so an
 * image from any other registry is pulled by its name on the mirror
 * (MIRROR/REGISTRY/repo:tag), then given its real name, and the mirror-side
 * name removed. `docker run dtr.example.com/eng/app:7` then finds it locally,
 * even when dtr.example.com is unreachable.
 */

/** One line of Docker's pull progress (the JSON stream of POST /images/create). */
export interface PullProgress {
  /** The layer, or absent for lines about the whole image. */
  id?: string;
  status: string;
  current?: number;
  total?: number;
}

export interface PullOptions {
  reference: string;
  /** Layover's mirror, host:port (a scheme is accepted and ignored). */
  mirror: string;
  /** The registry the mirror serves without a path prefix (Docker Hub unless configured otherwise). */
  defaultRegistry?: string;
  candidates?: DockerConnection[];
  onProgress?: (progress: PullProgress) => void;
}

export interface PullResult {
  /** The name the image now has locally, as given. */
  reference: string;
  /** The name it was pulled by. */
  mirrorReference: string;
  digest?: string;
  imageId: string;
}


export async function pullThroughLayover(options: PullOptions): Promise<PullResult> {
  const reference = parseImageReference(options.reference);
  const mirror = parseMirrorAddress(options.mirror);
  if (reference.registry === mirror.host) {
    throw new RuntimeError(`${options.reference} already names the mirror: give the image's own name, e.g. dtr.example.com/eng/app:7`);
  }
  if (reference.tag === undefined) {
    throw new RuntimeError(`${options.reference} has no tag: Docker can name a local image by a tag only, so give name:tag@digest`);
  }
  const onMirror = mirrorReference(reference, mirror.host, options.defaultRegistry ?? DOCKER_HUB);
  const engine = await findDockerEngine(options.candidates ?? dockerConnectionCandidates());
  const docker = await dockerClient(engine.connection);
  const streamedDigest = await pullImage(docker, onMirror, options.onProgress, isLoopback(mirror));
  const mirrorName = mirrorSideName(onMirror);
  const imageId = await renameImage(docker, mirrorName, reference);
  return { reference: options.reference, mirrorReference: mirrorName, digest: streamedDigest ?? onMirror.digest, imageId };
}

/** A digest pins the pull; the tag is kept only for the local name. */
function mirrorSideName(onMirror: ImageReference): string {
  const name = `${onMirror.registry}/${onMirror.repository}`;
  return onMirror.digest === undefined ? `${name}:${onMirror.tag}` : `${name}@${onMirror.digest}`;
}

/** Pulls through the Docker API, forwarding progress; resolves to the digest Docker reports. */
async function pullImage(
  docker: Docker,
  onMirror: ImageReference,
  onProgress: ((progress: PullProgress) => void) | undefined,
  loopbackMirror: boolean,
): Promise<string | undefined> {
  const fail = (error: unknown) => pullError(mirrorSideName(onMirror), errorMessage(error), loopbackMirror);
  const pull = await startDockerPull(docker, `${onMirror.registry}/${onMirror.repository}`, onMirror.digest ?? onMirror.tag ?? 'latest', (event) =>
    onProgress?.({ id: event.id, status: event.status ?? '', current: event.progressDetail?.current, total: event.progressDetail?.total }),
  ).catch((error: unknown) => {
    throw fail(error);
  });
  return pull.finished.catch((error: unknown) => {
    throw fail(error);
  });
}

function pullError(name: string, message: string, loopbackMirror: boolean): RuntimeError {
  const singleLine = message.replace(/\s+/g, ' ').trim();
  // Docker talks plain HTTP only to loopback and to registries listed in insecure-registries.
  const hint = !loopbackMirror && /HTTP response to HTTPS client/i.test(singleLine)
    ? ' (add the mirror to "insecure-registries" in daemon.json, or serve it over HTTPS)'
    : '';
  return new RuntimeError(`pulling ${name} failed: ${singleLine}${hint}`);
}

/** Tags the pulled image with its real name, then drops the mirror-side name (the image stays: it has the real name). */
async function renameImage(docker: Docker, mirrorName: string, reference: ImageReference): Promise<string> {
  const image = docker.getImage(mirrorName);
  const repo = `${reference.registry}/${reference.repository}`;
  try {
    const { Id: imageId } = await image.inspect() as { Id: string };
    await image.tag({ repo, tag: reference.tag });
    await image.remove({ noprune: true });
    return imageId;
  } catch (error) {
    throw new RuntimeError(`pulled ${mirrorName} but could not rename it to ${formatReference(reference)}: ${errorMessage(error)}`);
  }
}
