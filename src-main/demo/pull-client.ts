import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES } from '../core/oci/media-types.js';

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
  const agent = new Agent({ connections: PULL_CONCURRENCY + 1 });
  const started = performance.now();
  let bytes = 0;
  try {
    const base = `${options.registryUrl}/v2/${options.repository}`;
    let manifest = await fetchVerified(agent, `${base}/manifests/${options.tag}`, undefined, { accept: MANIFEST_MEDIA_TYPES.join(', ') });
    bytes += manifest.body.length;
    const digest = manifest.digest;
    let parsed = JSON.parse(manifest.body.toString('utf8')) as { mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
    if (parsed.manifests && (!parsed.mediaType || INDEX_MEDIA_TYPES.includes(parsed.mediaType))) {
      const chosen = parsed.manifests.find((entry) => entry.platform?.os === 'linux' && entry.platform.architecture === 'amd64') ?? parsed.manifests[0];
      if (!chosen) throw new Error(`${options.repository}:${options.tag} is an empty index`);
      manifest = await fetchVerified(agent, `${base}/manifests/${chosen.digest}`, chosen.digest, { accept: MANIFEST_MEDIA_TYPES.join(', ') });
      bytes += manifest.body.length;
      parsed = JSON.parse(manifest.body.toString('utf8'));
    }
    const blobs = [parsed.config, ...(parsed.layers ?? [])].filter((blob): blob is Descriptor => blob !== undefined);
    const total = blobs.reduce((sum, blob) => sum + blob.size, 0);
    let done = 0;
    const queue = [...blobs];
    const worker = async () => {
      for (let blob = queue.shift(); blob; blob = queue.shift()) {
        const received = await downloadVerified(agent, `${base}/blobs/${blob.digest}`, blob, (chunk) => {
          done += chunk;
          options.onProgress?.({ bytesDone: done, bytesTotal: total });
        });
        bytes += received;
      }
    };
    await Promise.all(Array.from({ length: PULL_CONCURRENCY }, worker));
    return { digest, bytes, blobs: blobs.length, seconds: (performance.now() - started) / 1000 };
  } finally {
    await agent.close();
  }
}

async function fetchVerified(agent: Agent, url: string, expected: string | undefined, headers: Record<string, string>): Promise<{ body: Buffer; digest: string }> {
  const response = await request(url, { dispatcher: agent, headers });
  const body = Buffer.from(await response.body.arrayBuffer());
  if (response.statusCode !== 200) throw new Error(`GET ${url}: HTTP ${response.statusCode} ${body.toString('utf8').slice(0, 200)}`);
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  if (expected && digest !== expected) throw new Error(`GET ${url}: the bytes do not match ${expected}`);
  return { body, digest };
}

async function downloadVerified(agent: Agent, url: string, blob: Descriptor, onChunk: (bytes: number) => void): Promise<number> {
  const response = await request(url, { dispatcher: agent });
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new Error(`GET ${url}: HTTP ${response.statusCode}`);
  }
  const hash = createHash('sha256');
  let received = 0;
  for await (const chunk of response.body) {
    hash.update(chunk as Buffer);
    received += (chunk as Buffer).length;
    onChunk((chunk as Buffer).length);
  }
  if (received !== blob.size || `sha256:${hash.digest('hex')}` !== blob.digest) throw new Error(`GET ${url}: the bytes do not match ${blob.digest}`);
  return received;
}
