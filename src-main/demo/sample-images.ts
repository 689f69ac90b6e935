/**
 * Deterministic sample images written as OCI image layouts
 * (`oci-layout` + `index.json` + `blobs/sha256/...`).
 *
 * The demo mode serves them, and every integration test and the benchmark
 * pushes them to a real registry, so they must be real images: layers are
 * valid tar archives that `docker pull` extracts, configs are valid OCI image
 * configs. Content is derived from a seed only, so the same spec always gives
 * the same digests (a base layer shared by two images is one blob), and
 * layers are streamed to disk so memory stays flat whatever their size.
 */
import { isValidTag } from '../core/oci/grammar.js';
import { createCipheriv, createHash, randomBytes, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type tar from 'tar-stream';

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export interface SamplePlatform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface SampleLayerSpec {
  /** Size of the uncompressed tar in bytes. Exact when it is a multiple of 512 and leaves room for the tar headers; otherwise the nearest size above. */
  size: number;
  /** Any string; the layer's bytes are a pure function of it (and of the platform, in an index). */
  seed: string;
  /** Gzip this layer (slower: deflate runs at tens of MB/s). Defaults to the image's `gzip`. */
  gzip?: boolean;
  /** Split the content over this many regular files (default 1). */
  files?: number;
}

export interface SampleImageSpec {
  tag: string;
  layers: SampleLayerSpec[];
  /** Default for layers that do not say; false = `application/vnd.oci.image.layer.v1.tar`. */
  gzip?: boolean;
  /** With platforms, the tag names an image index with one manifest per platform; each platform's layers get their own bytes. */
  platforms?: SamplePlatform[];
  /** Image config Cmd; default ['/layover-sample']. The images hold no binaries: they are for pulling, not running. */
  cmd?: string[];
  labels?: Record<string, string>;
}

export interface SampleBlob {
  digest: string;
  size: number;
  mediaType: string;
}

export interface SampleLayer extends SampleBlob {
  /** sha256 of the uncompressed tar, as listed in the config's rootfs.diff_ids. */
  diffId: string;
  uncompressedSize: number;
  /** The seed the bytes were actually derived from (the spec's seed, plus the platform inside an index). */
  seed: string;
}

export interface SampleManifest extends SampleBlob {
  platform: SamplePlatform;
  config: SampleBlob;
  layers: SampleLayer[];
}

export interface SampleTag {
  tag: string;
  /** Digest of what the tag points at: the manifest, or the index for multi-platform specs. */
  digest: string;
  mediaType: string;
  size: number;
  /** One entry for a single-platform image, one per platform for an index. */
  manifests: SampleManifest[];
  /** Every blob reachable from the tag (index, manifests, configs, layers), each once. */
  blobs: SampleBlob[];
  /** Sum of `blobs` sizes: what a registry stores, or a full pull of every platform transfers. */
  totalBytes: number;
}

export interface SampleLayoutResult {
  /** The layout directory, or undefined from describeSampleImages. */
  dir: string | undefined;
  tags: SampleTag[];
  /** Every blob of every tag, each once. */
  blobs: SampleBlob[];
  totalBytes: number;
}

const DEFAULT_PLATFORM: SamplePlatform = { os: 'linux', architecture: 'amd64' };
const TAR_BLOCK = 512;
const TAR_END = 2 * TAR_BLOCK;
const CHUNK = 1024 * 1024;
/** Fixed timestamps keep tars and configs byte-identical across runs. */
const FIXED_MTIME = new Date('2024-01-01T00:00:00Z');
const FIXED_CREATED = '2024-01-01T00:00:00Z';

/** Writes the images into an OCI layout at `dir` (created if needed; tags already in its index.json are kept unless replaced). */
export async function writeSampleLayout(dir: string, images: SampleImageSpec[]): Promise<SampleLayoutResult> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const result = await buildImages(images, new LayoutSink(dir));
  await writeIndexJson(dir, result.tags);
  return { ...result, dir };
}

/** Computes the same digests and sizes as writeSampleLayout without writing anything. */
export async function describeSampleImages(images: SampleImageSpec[]): Promise<SampleLayoutResult> {
  const result = await buildImages(images, new DiscardSink());
  return { ...result, dir: undefined };
}

/** Path of a blob inside an OCI layout. */
export function layoutBlobPath(dir: string, digest: string): string {
  const [algorithm, hex] = digest.split(':');
  if (algorithm !== 'sha256' || !hex || !/^[a-f0-9]{64}$/.test(hex)) throw new Error(`not a sha256 digest: ${digest}`);
  return join(dir, 'blobs', algorithm, hex);
}

/** Canonical "os/arch[/variant]" string, as used by docker --platform. */
export function platformString(platform: SamplePlatform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

// ---------------------------------------------------------------- building

interface BlobSink {
  /** Returns a writable for one blob; `commit(digest)` names it once the digest is known. */
  open(): Promise<{ stream: Writable; commit(digest: string): Promise<void>; abort(): Promise<void> }>;
  putJson(bytes: Buffer, digest: string): Promise<void>;
}

class LayoutSink implements BlobSink {
  constructor(private readonly dir: string) {}

  async open() {
    // Layers are named by a digest only known at the end, so they go to a temp file first.
    const temp = join(this.dir, 'blobs', 'sha256', `.tmp-${randomBytes(8).toString('hex')}`);
    const stream = createWriteStream(temp);
    return {
      stream,
      commit: async (digest: string) => rename(temp, layoutBlobPath(this.dir, digest)),
      abort: async () => rm(temp, { force: true }),
    };
  }

  async putJson(bytes: Buffer, digest: string): Promise<void> {
    await writeFile(layoutBlobPath(this.dir, digest), bytes);
  }
}

class DiscardSink implements BlobSink {
  async open() {
    const stream = new Writable({ write: (_chunk, _encoding, done) => done() });
    return { stream, commit: async () => {}, abort: async () => {} };
  }

  async putJson(): Promise<void> {}
}

async function buildImages(images: SampleImageSpec[], sink: BlobSink): Promise<Omit<SampleLayoutResult, 'dir'>> {
  assertUniqueTags(images);
  // Identical layer specs (a shared base) are produced once per call.
  const layerCache = new Map<string, Promise<SampleLayer>>();
  const tags: SampleTag[] = [];
  for (const image of images) tags.push(await buildTag(image, sink, layerCache));
  const blobs = uniqueBlobs(tags.flatMap((tag) => tag.blobs));
  return { tags, blobs, totalBytes: sumSizes(blobs) };
}

function assertUniqueTags(images: SampleImageSpec[]): void {
  const seen = new Set<string>();
  for (const { tag } of images) {
    if (!isValidTag(tag)) throw new Error(`invalid tag: ${JSON.stringify(tag)}`);
    if (seen.has(tag)) throw new Error(`tag listed twice: ${tag}`);
    seen.add(tag);
  }
}

async function buildTag(image: SampleImageSpec, sink: BlobSink, layerCache: Map<string, Promise<SampleLayer>>): Promise<SampleTag> {
  const isIndex = image.platforms !== undefined;
  const platforms = image.platforms ?? [DEFAULT_PLATFORM];
  if (platforms.length === 0) throw new Error(`${image.tag}: platforms is empty`);
  const manifests: SampleManifest[] = [];
  for (const platform of platforms) {
    // Inside an index each platform gets its own bytes, so a test can tell which platforms were fetched.
    const seedSuffix = isIndex ? `@${platformString(platform)}` : '';
    manifests.push(await buildManifest(image, platform, seedSuffix, sink, layerCache));
  }
  const reachable: SampleBlob[] = manifests.flatMap((m) => [m, m.config, ...m.layers]);
  if (!isIndex) {
    const [manifest] = manifests as [SampleManifest];
    const blobs = uniqueBlobs(reachable);
    return { tag: image.tag, digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.size, manifests, blobs, totalBytes: sumSizes(blobs) };
  }
  const index = await putJsonBlob(sink, indexDocument(manifests));
  const blobs = uniqueBlobs([index, ...reachable]);
  return { tag: image.tag, digest: index.digest, mediaType: index.mediaType, size: index.size, manifests, blobs, totalBytes: sumSizes(blobs) };
}

async function buildManifest(
  image: SampleImageSpec,
  platform: SamplePlatform,
  seedSuffix: string,
  sink: BlobSink,
  layerCache: Map<string, Promise<SampleLayer>>,
): Promise<SampleManifest> {
  const layers: SampleLayer[] = [];
  for (const spec of image.layers) {
    const gzip = spec.gzip ?? image.gzip ?? false;
    const layerSpec: ResolvedLayerSpec = { size: spec.size, seed: spec.seed + seedSuffix, gzip, files: spec.files ?? 1 };
    const key = JSON.stringify(layerSpec);
    let layer = layerCache.get(key);
    if (!layer) {
      layer = produceLayer(layerSpec, sink);
      layerCache.set(key, layer);
    }
    layers.push(await layer);
  }
  const config = await putJsonBlob(sink, configDocument(image, platform, layers));
  const manifest = await putJsonBlob(sink, manifestDocument(config, layers));
  return { ...manifest, platform, config, layers };
}

// ---------------------------------------------------------------- JSON documents

interface JsonDocument {
  mediaType: string;
  body: unknown;
}

function configDocument(image: SampleImageSpec, platform: SamplePlatform, layers: SampleLayer[]): JsonDocument {
  const config: Record<string, unknown> = {
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    Cmd: image.cmd ?? ['/layover-sample'],
  };
  if (image.labels) config.Labels = image.labels;
  const body = {
    created: FIXED_CREATED,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config,
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
    history: layers.map((layer) => ({
      created: FIXED_CREATED,
      created_by: `layover sample layer seed=${JSON.stringify(layer.seed)} size=${layer.uncompressedSize}`,
    })),
  };
  return { mediaType: MEDIA_TYPES.ociConfig, body };
}

function manifestDocument(config: SampleBlob, layers: SampleLayer[]): JsonDocument {
  const mediaType = MEDIA_TYPES.ociManifest;
  const descriptor = ({ mediaType: type, digest, size }: SampleBlob) => ({ mediaType: type, digest, size });
  return { mediaType, body: { schemaVersion: 2, mediaType, config: descriptor(config), layers: layers.map(descriptor) } };
}

function indexDocument(manifests: SampleManifest[]): JsonDocument {
  const mediaType = MEDIA_TYPES.ociIndex;
  const entries = manifests.map((m) => ({ mediaType: m.mediaType, digest: m.digest, size: m.size, platform: m.platform }));
  return { mediaType, body: { schemaVersion: 2, mediaType, manifests: entries } };
}

async function putJsonBlob(sink: BlobSink, document: JsonDocument): Promise<SampleBlob> {
  const bytes = Buffer.from(JSON.stringify(document.body));
  const digest = sha256Digest(bytes);
  await sink.putJson(bytes, digest);
  return { digest, size: bytes.length, mediaType: document.mediaType };
}

async function writeIndexJson(dir: string, tags: SampleTag[]): Promise<void> {
  const path = join(dir, 'index.json');
  const replaced = new Set(tags.map((t) => t.tag));
  const kept = (await readExistingIndexEntries(path)).filter((entry) => !replaced.has(refName(entry) ?? ''));
  const added = tags.map((t) => ({
    mediaType: t.mediaType,
    digest: t.digest,
    size: t.size,
    annotations: { 'org.opencontainers.image.ref.name': t.tag },
  }));
  await writeFile(path, JSON.stringify({ schemaVersion: 2, manifests: [...kept, ...added] }, null, 2));
}

async function readExistingIndexEntries(path: string): Promise<Array<Record<string, unknown>>> {
  try {
    const index = JSON.parse(await readFile(path, 'utf8')) as { manifests?: Array<Record<string, unknown>> };
    return index.manifests ?? [];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function refName(entry: Record<string, unknown>): string | undefined {
  const annotations = entry.annotations as Record<string, string> | undefined;
  return annotations?.['org.opencontainers.image.ref.name'];
}

// ---------------------------------------------------------------- layers

interface ResolvedLayerSpec {
  size: number;
  seed: string;
  gzip: boolean;
  files: number;
}

async function produceLayer(spec: ResolvedLayerSpec, sink: BlobSink): Promise<SampleLayer> {
  const files = planFiles(spec);
  const uncompressed = new HashingCounter();
  const stored = new HashingCounter();
  // Loaded by the first layer built, so an idle `layover serve` never carries tar-stream.
  const { default: tarStream } = await import('tar-stream');
  const target = await sink.open();
  try {
    const pack = tarStream.pack();
    const source = Readable.from(pack);
    const transfer = spec.gzip
      ? // level 1: the bytes are random, so higher levels only cost time.
        pipeline(source, uncompressed.tap(), createGzip({ level: 1 }), stored.tap(), target.stream)
      : pipeline(source, uncompressed.tap(), stored.tap(), target.stream);
    await Promise.all([fillTar(pack, files), transfer]);
    const digest = stored.digest();
    await target.commit(digest);
    return {
      digest,
      size: stored.bytes,
      mediaType: layerMediaType(spec),
      diffId: uncompressed.digest(),
      uncompressedSize: uncompressed.bytes,
      seed: spec.seed,
    };
  } catch (error) {
    await target.abort();
    throw error;
  }
}

function layerMediaType(spec: ResolvedLayerSpec): string {
  return spec.gzip ? MEDIA_TYPES.ociLayerGzip : MEDIA_TYPES.ociLayerTar;
}

interface PlannedFile {
  name: string;
  size: number;
}

/** Spreads the requested tar size over `files` entries: each costs a 512-byte header plus padding, and the tar ends with 1024 zero bytes. */
function planFiles(spec: ResolvedLayerSpec): PlannedFile[] {
  if (!Number.isSafeInteger(spec.size) || spec.size < 0) throw new Error(`layer ${spec.seed}: size must be a non-negative integer`);
  if (!Number.isInteger(spec.files) || spec.files < 1) throw new Error(`layer ${spec.seed}: files must be a positive integer`);
  const content = Math.max(0, spec.size - TAR_END - spec.files * TAR_BLOCK);
  // Whole blocks per file so padding never adds bytes, except for the remainder in the last file.
  const blocks = Math.floor(content / TAR_BLOCK);
  const perFile = Math.floor(blocks / spec.files) * TAR_BLOCK;
  const folder = `layover-sample/${sha256Hex(Buffer.from(spec.seed)).slice(0, 16)}`;
  return Array.from({ length: spec.files }, (_, i) => ({
    name: `${folder}/part-${String(i).padStart(3, '0')}.bin`,
    size: i === spec.files - 1 ? content - perFile * (spec.files - 1) : perFile,
  }));
}

async function fillTar(pack: tar.Pack, files: PlannedFile[]): Promise<void> {
  try {
    for (const [index, file] of files.entries()) {
      const entry = pack.entry({ name: file.name, size: file.size, mode: 0o644, mtime: FIXED_MTIME, type: 'file' });
      await writeWithBackpressure(entry, pseudoRandomChunks(`${file.name}#${index}`, file.size));
      await endStream(entry);
    }
    pack.finalize();
  } catch (error) {
    pack.destroy(error as Error);
    throw error;
  }
}

type TarEntry = ReturnType<tar.Pack['entry']>;

// tar-stream entries are streamx writables: they signal 'drain' and 'finish' like node's, but end() takes no callback.
async function writeWithBackpressure(entry: TarEntry, chunks: Iterable<Buffer>): Promise<void> {
  for (const chunk of chunks) {
    if (!entry.write(chunk)) await nextEvent(entry, 'drain');
  }
}

async function endStream(entry: TarEntry): Promise<void> {
  const finished = nextEvent(entry, 'finish');
  entry.end(undefined);
  await finished;
}

/** Resolves on `event`; rejects if the entry fails or closes first (the consumer gave up), so the producer never hangs. */
function nextEvent(entry: TarEntry, event: 'drain' | 'finish'): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      entry.off(event, onEvent);
      entry.off('error', onError);
      entry.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onEvent = () => settle();
    const onError = (error: Error) => settle(error);
    const onClose = () => settle(new Error(`tar entry closed before ${event}`));
    entry.on(event, onEvent);
    entry.on('error', onError);
    entry.on('close', onClose);
  });
}

/** AES-128-CTR over zeros, keyed by the seed: deterministic, and fast enough (hundreds of MB/s) for 256 MiB layers. */
function* pseudoRandomChunks(seed: string, size: number): Generator<Buffer> {
  const keyMaterial = createHash('sha256').update(`layover-sample:${seed}`).digest();
  const cipher = createCipheriv('aes-128-ctr', keyMaterial.subarray(0, 16), keyMaterial.subarray(16, 32));
  const zeros = Buffer.alloc(CHUNK);
  for (let remaining = size; remaining > 0; remaining -= CHUNK) {
    yield cipher.update(remaining >= CHUNK ? zeros : zeros.subarray(0, remaining));
  }
}

/** Hashes and counts bytes passing through a pipeline stage. */
class HashingCounter {
  bytes = 0;
  private readonly hash: Hash = createHash('sha256');
  private result: string | undefined;

  tap(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        this.hash.update(chunk);
        this.bytes += chunk.length;
        done(null, chunk);
      },
    });
  }

  digest(): string {
    this.result ??= `sha256:${this.hash.digest('hex')}`;
    return this.result;
  }
}

// ---------------------------------------------------------------- helpers

function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function sha256Digest(bytes: Buffer): string {
  return `sha256:${sha256Hex(bytes)}`;
}

function uniqueBlobs(blobs: SampleBlob[]): SampleBlob[] {
  const byDigest = new Map<string, SampleBlob>();
  for (const blob of blobs) {
    if (!byDigest.has(blob.digest)) byDigest.set(blob.digest, { digest: blob.digest, size: blob.size, mediaType: blob.mediaType });
  }
  return [...byDigest.values()];
}

function sumSizes(blobs: SampleBlob[]): number {
  return blobs.reduce((total, blob) => total + blob.size, 0);
}

/** Size of a written blob, to check a layout on disk against a result. */
export async function layoutBlobSize(dir: string, digest: string): Promise<number> {
  return (await stat(layoutBlobPath(dir, digest))).size;
}
