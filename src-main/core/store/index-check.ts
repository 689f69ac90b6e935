import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlobStore } from './blob-store.js';
import type { MetadataIndex } from './metadata.js';

export interface IndexCheckReport {
  /** Blob files the index lacked (a crash between the rename and the index write): now recorded. */
  adopted: number;
  /** Records whose file was gone (deleted by hand, or a crash mid-eviction): now forgotten. */
  dropped: number;
}

export interface IndexCheckOptions {
  /** True while pulls are moving bytes: the check waits for them. */
  busy?: () => boolean;
  signal?: AbortSignal;
  /** Repairs tried between two pauses (the check also pauses between prefix folders). */
  batchSize?: number;
  pauseMs?: number;
}

const DEFAULT_BATCH = 256;
const DEFAULT_PAUSE_MS = 20;
const BUSY_RECHECK_MS = 250;

/**
 * Compares the index with the blob files one prefix folder at a time (about
 * 1/256 of the store): the folder's file names against the index's keys in
 * the same range, read in key order, so only the differences are stat'ed and
 * the index pages read are the blob records' own. It pauses between folders
 * and stands aside while pulls run, and repairs both ways. Startup never
 * waits for it: usage and records come from the index. Every repair
 * re-checks its case first, because pulls and eviction change both sides
 * while it runs.
 */
export async function checkIndexAgainstFiles(index: MetadataIndex, store: BlobStore, options: IndexCheckOptions = {}): Promise<IndexCheckReport> {
  const report: IndexCheckReport = { adopted: 0, dropped: 0 };
  const yieldToPulls = politeness(options);
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const compared = new Set<string>();
  const compare = async (folder: string, files: string[]): Promise<void> => {
    compared.add(folder);
    const onFile = new Set(files);
    const recorded = index.blobDigestsIn(folder);
    const inIndex = new Set(recorded);
    const unrecorded = files.filter((digest) => !inIndex.has(digest));
    const missing = recorded.filter((digest) => !onFile.has(digest));
    for (let start = 0; start < unrecorded.length; start += batchSize) {
      if (start > 0) await yieldToPulls();
      report.adopted += await adoptUnrecorded(index, store, unrecorded.slice(start, start + batchSize));
    }
    for (let start = 0; start < missing.length; start += batchSize) {
      if (start > 0 || unrecorded.length > 0) await yieldToPulls();
      report.dropped += await dropMissing(index, store, missing.slice(start, start + batchSize));
    }
  };
  for await (const digests of store.digestsByFolder()) {
    await yieldToPulls();
    await compare(folderOf(digests[0]!), digests);
  }
  // Records in folders that hold no file at all.
  for (let folder = index.nextBlobFolder(); folder !== undefined; folder = index.nextBlobFolder(folder)) {
    if (compared.has(folder)) continue;
    await yieldToPulls();
    await compare(folder, []);
  }
  return report;
}

/** "sha256:ab" for sha256:ab12…: the store's prefix folder, and the index's key range for it. */
export function folderOf(digest: string): string {
  return digest.slice(0, digest.indexOf(':') + 3);
}

async function adoptUnrecorded(index: MetadataIndex, store: BlobStore, digests: string[]): Promise<number> {
  let adopted = 0;
  for (const digest of digests) {
    if (index.blob(digest)) continue;
    const info = await stat(store.pathOf(digest)).catch(() => undefined);
    if (!info?.isFile() || index.blob(digest)) continue;
    index.addBlob(digest, info.size, Math.floor(info.mtimeMs));
    adopted += 1;
  }
  return adopted;
}

async function dropMissing(index: MetadataIndex, store: BlobStore, digests: string[]): Promise<number> {
  let dropped = 0;
  for (const digest of digests) {
    if (await fileExists(store.pathOf(digest))) continue;
    if (!index.blob(digest)) continue;
    index.forget(digest);
    dropped += 1;
  }
  return dropped;
}

async function fileExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    // Only a file that is certainly gone is forgotten; any other failure leaves the record for the next check.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** Between batches: a pause (other work runs), then a wait while pulls are busy; throws once aborted. */
function politeness(options: IndexCheckOptions): () => Promise<void> {
  return async () => {
    options.signal?.throwIfAborted();
    await sleep(options.pauseMs ?? DEFAULT_PAUSE_MS, undefined, { signal: options.signal });
    while (options.busy?.()) await sleep(BUSY_RECHECK_MS, undefined, { signal: options.signal });
  };
}
