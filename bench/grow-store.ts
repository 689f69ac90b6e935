/**
 * Grows a Layover data directory to the size of a year-old office cache
 * (issue 13: 100,000 blobs, 2,000 repositories × 50 tags) in seconds, with
 * the store's own code: the blob files are written where BlobStore puts them
 * (each hashes to its name, so a store check finds them whole) and the
 * records go through MetadataIndex, the index `layover serve` opens. No HTTP
 * push is involved. Each repository holds 10 images (an OCI manifest, a
 * config and 3 layers, all its own); its 50 tags point at them in turn, and
 * the access times spread over a year so eviction has an order to read.
 *
 *   node --import tsx bench/grow-store.ts DATA_DIR [--repositories 2000] [--tags 50]
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BlobStore, PRIVATE_DIR_MODE } from '../src-main/core/store/blob-store.js';
import { MetadataIndex } from '../src-main/core/store/metadata.js';
import { mapConcurrently } from './client.js';

export interface GrowOptions {
  /** The registry the records belong to ('docker.io' for a `layover serve --upstream URL`). */
  registry?: string;
  repositories: number;
  tagsPerRepository: number;
  /** Distinct images per repository; each is a manifest, a config and `layersPerImage` layers. */
  imagesPerRepository?: number;
  layersPerImage?: number;
  /** Repository names are `<prefix>NNNN/service-NNNN`. */
  namePrefix?: string;
  now?: number;
}

export interface GrownStore {
  blobs: number;
  bytes: number;
  repositories: number;
  tags: number;
  /** Names of the grown repositories, in creation order. */
  repositoryNames: string[];
  ms: number;
}

const YEAR_MS = 365 * 24 * 60 * 60 * 1000;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
/** Repositories whose records are committed together: one index transaction each. */
const REPOSITORIES_PER_COMMIT = 100;
const FILE_WRITES_AT_ONCE = 64;

interface Blob {
  digest: string;
  bytes: Buffer;
}

/** The blobs per repository: images × (manifest + config + layers). */
export function blobsPerRepository(options: GrowOptions): number {
  return (options.imagesPerRepository ?? 10) * (2 + (options.layersPerImage ?? 3));
}

export function repositoryName(index: number, prefix = 'team'): string {
  return `${prefix}${String(index % 50).padStart(2, '0')}/service-${String(index).padStart(4, '0')}`;
}

export async function growStore(dataDir: string, options: GrowOptions): Promise<GrownStore> {
  const started = performance.now();
  const registry = options.registry ?? 'docker.io';
  const now = options.now ?? Date.now();
  const store = new BlobStore(dataDir);
  await store.open();
  const index = new MetadataIndex(dataDir);
  await index.load();
  const grown: GrownStore = { blobs: 0, bytes: 0, repositories: 0, tags: 0, repositoryNames: [], ms: 0 };
  try {
    for (let first = 0; first < options.repositories; first += REPOSITORIES_PER_COMMIT) {
      const last = Math.min(options.repositories, first + REPOSITORIES_PER_COMMIT);
      const files: Blob[] = [];
      for (let r = first; r < last; r++) {
        const name = repositoryName(r, options.namePrefix);
        const images = Array.from({ length: options.imagesPerRepository ?? 10 }, (_, i) => makeImage(`${name}:${i}`, options.layersPerImage ?? 3));
        for (const image of images) {
          for (const blob of image.blobs) {
            index.addBlob(blob.digest, blob.bytes.length, now - Math.floor(Math.random() * YEAR_MS));
            files.push(blob);
          }
          index.setManifest(image.manifest.digest, { mediaType: OCI_MANIFEST, size: image.manifest.bytes.length });
        }
        const tags = Array.from({ length: options.tagsPerRepository }, (_, t) => `1.${Math.floor(t / 10)}.${t % 10}`);
        tags.forEach((tag, t) => index.setTag(registry, name, tag, { digest: images[t % images.length]!.manifest.digest, mediaType: OCI_MANIFEST, checkedAt: now }));
        index.setTagList(registry, name, tags, now);
        grown.repositoryNames.push(name);
        grown.repositories += 1;
        grown.tags += tags.length;
      }
      await writeBlobFiles(store, files);
      await index.flush();
      grown.blobs += files.length;
      grown.bytes += files.reduce((sum, file) => sum + file.bytes.length, 0);
    }
  } finally {
    await index.close();
  }
  grown.ms = performance.now() - started;
  return grown;
}

/** An image of its own: layers of random bytes, a config, and the manifest naming them. */
function makeImage(seed: string, layers: number): { manifest: Blob; blobs: Blob[] } {
  const layerBlobs = Array.from({ length: layers }, () => blob(randomBytes(256 + Math.floor(Math.random() * 768))));
  const config = blob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: { seed } }, rootfs: { type: 'layers', diff_ids: layerBlobs.map((l) => l.digest) } })));
  const manifest = blob(Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.bytes.length },
    layers: layerBlobs.map((l) => ({ mediaType: OCI_LAYER, digest: l.digest, size: l.bytes.length })),
  })));
  return { manifest, blobs: [manifest, config, ...layerBlobs] };
}

function blob(bytes: Buffer): Blob {
  return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes };
}

/** Straight to where the store keeps verified blobs (blobs/sha256/<2 hex>/<hex>), owner-only like the store's own. */
async function writeBlobFiles(store: BlobStore, files: Blob[]): Promise<void> {
  const folders = new Set(files.map((file) => dirname(store.pathOf(file.digest))));
  await Promise.all([...folders].map((folder) => mkdir(folder, { recursive: true, mode: PRIVATE_DIR_MODE })));
  await mapConcurrently(files, FILE_WRITES_AT_ONCE, (file) => writeFile(store.pathOf(file.digest), file.bytes, { mode: 0o600 }));
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { repositories: { type: 'string' }, tags: { type: 'string' }, registry: { type: 'string' } } });
  const dataDir = positionals[0];
  if (!dataDir) throw new Error('usage: node --import tsx bench/grow-store.ts DATA_DIR [--repositories 2000] [--tags 50] [--registry docker.io]');
  const grown = await growStore(dataDir, {
    repositories: Number(values.repositories ?? 2000),
    tagsPerRepository: Number(values.tags ?? 50),
    ...(values.registry ? { registry: values.registry } : {}),
  });
  console.log(`grew ${dataDir}: ${grown.blobs} blobs (${(grown.bytes / 1024 / 1024).toFixed(1)} MiB), ${grown.repositories} repositories, ${grown.tags} tags in ${(grown.ms / 1000).toFixed(1)} s`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.stack ?? error.message : error);
    process.exitCode = 1;
  });
}
