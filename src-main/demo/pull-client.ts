import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { INDEX_MEDIA_TYPES } from '../core/oci/media-types.js';
import { RegistryClient } from '../core/upstream/registry-client.js';
import { RepositoryClient } from '../core/upstream/repository-client.js';

/** Docker's default max-concurrent-downloads: the demo pulls the way Docker would. */
const PULL_CONCURRENCY = 3;

export interface PullProgress {
  bytesDone: number;
  bytesTotal: number;
}

export interface PullReport {
  digest: string;
  /** Bytes of manifests and blobs received. */
  bytes: number;
  blobs: number;
  seconds: number;
}

interface Descriptor {
  digest: string;
  size: number;
  mediaType?: string;
  platform?: { os?: string; architecture?: string };
}

/**
 * Layover's own pull, for when Docker is not there: manifest (an index
 * resolved to linux/amd64, as Docker on a typical laptop VM would), config
 * and layers, three at a time, every byte checked against its digest.
 */
export async function pullImage(options: { registryUrl: string; repository: string; tag: string; onProgress?: (progress: PullProgress) => void }): Promise<PullReport> {
  // The typed registry client, pointed at Layover as a client points at a registry: paths, Accept and errors as everywhere else.
  const client = new RegistryClient({ name: 'layover', endpoints: [{ url: options.registryUrl }] });
  const repository = new RepositoryClient(client, options.repository);
  const started = performance.now();
  let bytes = 0;
  try {
    let manifest = await fetchVerified(repository, options.tag, undefined);
    bytes += manifest.body.length;
    const digest = manifest.digest;
    let parsed = JSON.parse(manifest.body.toString('utf8')) as { mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
    if (parsed.manifests && (!parsed.mediaType || INDEX_MEDIA_TYPES.includes(parsed.mediaType))) {
      const chosen = parsed.manifests.find((entry) => entry.platform?.os === 'linux' && entry.platform.architecture === 'amd64') ?? parsed.manifests[0];
      if (!chosen) throw new Error(`${options.repository}:${options.tag} is an empty index`);
      manifest = await fetchVerified(repository, chosen.digest, chosen.digest);
      bytes += manifest.body.length;
      parsed = JSON.parse(manifest.body.toString('utf8'));
    }
    const blobs = [parsed.config, ...(parsed.layers ?? [])].filter((blob): blob is Descriptor => blob !== undefined);
    const total = blobs.reduce((sum, blob) => sum + blob.size, 0);
    let done = 0;
    const queue = [...blobs];
    const worker = async () => {
      for (let blob = queue.shift(); blob; blob = queue.shift()) {
        const received = await downloadVerified(repository, blob, (chunk) => {
          done += chunk;
          options.onProgress?.({ bytesDone: done, bytesTotal: total });
        });
        bytes += received;
      }
    };
    await Promise.all(Array.from({ length: PULL_CONCURRENCY }, worker));
    return { digest, bytes, blobs: blobs.length, seconds: (performance.now() - started) / 1000 };
  } finally {
    await client.close();
  }
}

async function fetchVerified(repository: RepositoryClient, reference: string, expected: string | undefined): Promise<{ body: Buffer; digest: string }> {
  const { body } = await repository.manifest(reference);
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  if (expected && digest !== expected) throw new Error(`manifest ${repository.name}@${expected}: the bytes do not match`);
  return { body, digest };
}

async function downloadVerified(repository: RepositoryClient, blob: Descriptor, onChunk: (bytes: number) => void): Promise<number> {
  const { body } = await repository.blob(blob.digest);
  const hash = createHash('sha256');
  let received = 0;
  for await (const chunk of body) {
    hash.update(chunk as Buffer);
    received += (chunk as Buffer).length;
    onChunk((chunk as Buffer).length);
  }
  if (received !== blob.size || `sha256:${hash.digest('hex')}` !== blob.digest) throw new Error(`blob ${blob.digest} of ${repository.name}: the bytes do not match`);
  return received;
}
