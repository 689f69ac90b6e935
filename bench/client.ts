/**
 * The bench's registry client: what `docker pull` does, minus unpacking.
 * Every server (Layover, distribution, nginx, the upstream straight over the
 * link) is measured with this same client, so the client's own cost cancels
 * out of the ratios. Blobs of pulled images are verified against their
 * digests; the warm throughput case only counts bytes, since hashing 8 × 256
 * MiB would measure the client's SHA-256 rather than the server, and uses
 * curl when it is installed: Node's HTTP client tops out below 1 GB/s here,
 * which would measure the client rather than the server.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/** Docker's default max-concurrent-downloads. */
export const PULL_CONCURRENCY = 3;

interface GetOptions {
  agent?: Agent | false;
  headers?: Record<string, string>;
  method?: 'GET' | 'HEAD';
  /** Receives the body; without it the body is collected and returned. */
  onData?: (chunk: Buffer) => void;
}

interface GetResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One request, body read to the end; a cut body rejects. */
export function httpGet(url: string, options: GetOptions = {}): Promise<GetResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', agent: options.agent, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => (options.onData ? options.onData(chunk) : chunks.push(chunk)));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.once('error', reject);
      res.once('aborted', () => reject(new Error(`GET ${url}: the response was cut`)));
    });
    req.once('error', reject);
    req.end();
  });
}

export interface Download {
  bytes: number;
  ms: number;
}

/** Downloads a blob, counting and discarding its bytes; `digest` makes it verify them too. */
export async function downloadBlob(url: string, options: { agent?: Agent | false; digest?: string; size?: number } = {}): Promise<Download> {
  const started = performance.now();
  const hash = options.digest ? createHash('sha256') : undefined;
  let bytes = 0;
  const result = await httpGet(url, {
    agent: options.agent ?? false,
    onData: (chunk) => {
      bytes += chunk.length;
      hash?.update(chunk);
    },
  });
  if (result.status !== 200) throw new Error(`GET ${url}: HTTP ${result.status}`);
  if (options.size !== undefined && bytes !== options.size) throw new Error(`GET ${url}: ${bytes} bytes, expected ${options.size}`);
  if (hash && `sha256:${hash.digest('hex')}` !== options.digest) throw new Error(`GET ${url}: the bytes do not match ${options.digest}`);
  return { bytes, ms: performance.now() - started };
}

export const CURL_BINARY = '/usr/bin/curl';

/**
 * N clients download the same URL at once and throw the bytes away; resolves
 * with the bytes they got and the wall time until the last finished. Each
 * client is a curl process when curl is installed, else a Node request.
 */
export async function downloadConcurrently(url: string, clients: number, size: number): Promise<Download> {
  const useCurl = existsSync(CURL_BINARY);
  const started = performance.now();
  const downloads = await Promise.all(Array.from({ length: clients }, () => (useCurl ? curlDownload(url, size) : downloadBlob(url, { size }))));
  return { bytes: downloads.reduce((sum, download) => sum + download.bytes, 0), ms: performance.now() - started };
}

function curlDownload(url: string, size: number): Promise<Download> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(CURL_BINARY, ['--silent', '--show-error', '--output', '/dev/null', '--write-out', '%{http_code} %{size_download}', url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const [status, bytes] = output.trim().split(' ').map(Number);
      if (code !== 0 || status !== 200 || bytes !== size) reject(new Error(`curl ${url}: exit ${code}, ${output.trim()} (expected 200 and ${size} bytes)`));
      else resolve({ bytes, ms: performance.now() - started });
    });
  });
}

interface Descriptor {
  digest: string;
  size: number;
  mediaType?: string;
}

interface ImageManifest {
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Array<Descriptor & { platform?: { os?: string; architecture?: string } }>;
}

export interface Pull {
  ms: number;
  /** Manifest and every blob, as received. */
  bytes: number;
  blobs: number;
}

/**
 * Pulls repository:tag the way Docker does: GET /v2/, the manifest by tag
 * (an index resolves to linux/amd64), then the config and layers,
 * PULL_CONCURRENCY at a time over kept-alive connections, each verified.
 */
export async function pullImage(registryUrl: string, repository: string, tag: string): Promise<Pull> {
  const agent = new Agent({ keepAlive: true, maxSockets: PULL_CONCURRENCY });
  const started = performance.now();
  try {
    const ping = await httpGet(`${registryUrl}/v2/`, { agent });
    if (ping.status !== 200) throw new Error(`GET ${registryUrl}/v2/: HTTP ${ping.status}`);
    let { manifest, bytes } = await getManifest(registryUrl, repository, tag, agent);
    if (manifest.manifests) {
      const chosen = manifest.manifests.find((entry) => entry.platform?.os === 'linux' && entry.platform.architecture === 'amd64');
      if (!chosen) throw new Error(`${repository}:${tag} has no linux/amd64 image`);
      const child = await getManifest(registryUrl, repository, chosen.digest, agent);
      manifest = child.manifest;
      bytes += child.bytes;
    }
    const blobs = [manifest.config, ...(manifest.layers ?? [])].filter((blob): blob is Descriptor => blob !== undefined);
    const downloads = await mapConcurrently(blobs, PULL_CONCURRENCY, (blob) =>
      downloadBlob(`${registryUrl}/v2/${repository}/blobs/${blob.digest}`, { agent, digest: blob.digest, size: blob.size }));
    bytes += downloads.reduce((sum, download) => sum + download.bytes, 0);
    return { ms: performance.now() - started, bytes, blobs: blobs.length };
  } finally {
    agent.destroy();
  }
}

async function getManifest(registryUrl: string, repository: string, reference: string, agent: Agent): Promise<{ manifest: ImageManifest; bytes: number }> {
  const url = `${registryUrl}/v2/${repository}/manifests/${reference}`;
  const result = await httpGet(url, { agent, headers: { accept: MANIFEST_ACCEPT } });
  if (result.status !== 200) throw new Error(`GET ${url}: HTTP ${result.status} ${result.body.toString('utf8').slice(0, 300)}`);
  return { manifest: JSON.parse(result.body.toString('utf8')) as ImageManifest, bytes: result.body.length };
}

/** Milliseconds for one GET of a manifest by tag on a kept-alive connection (what `docker pull` asks first). */
export async function timeManifestByTag(registryUrl: string, repository: string, tag: string, agent: Agent): Promise<number> {
  const started = performance.now();
  const { manifest } = await getManifest(registryUrl, repository, tag, agent);
  if (!manifest.layers && !manifest.manifests) throw new Error(`${repository}:${tag}: not an image manifest`);
  return performance.now() - started;
}

/** Runs `work` over the items with at most `limit` at once; results in item order. */
export async function mapConcurrently<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
