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
  /** Files or records looked at between two pauses. */
  batchSize?: number;
  pauseMs?: number;
}

const DEFAULT_BATCH = 256;
const DEFAULT_PAUSE_MS = 20;
const BUSY_RECHECK_MS = 250;

/**
 * Compares the index with the blob files in small batches, pausing between
 * them and standing aside while pulls run, and repairs both ways. Startup
 * never waits for it: usage and records come from the index. Every repair
 * re-checks its case first, because pulls and eviction change both sides
 * while it runs.
 */
export async function checkIndexAgainstFiles(index: MetadataIndex, store: BlobStore, options: IndexCheckOptions = {}): Promise<IndexCheckReport> {
  const report: IndexCheckReport = { adopted: 0, dropped: 0 };
  const yieldToPulls = politeness(options);
  for await (const digests of store.digestsByFolder()) {
    for (let start = 0; start < digests.length; start += options.batchSize ?? DEFAULT_BATCH) {
      await yieldToPulls();
      report.adopted += await adoptUnrecorded(index, store, digests.slice(start, start + (options.batchSize ?? DEFAULT_BATCH)));
    }
  }
  for (let after: string | undefined, page: string[]; ; after = page.at(-1)) {
    await yieldToPulls();
    page = index.blobDigests(options.batchSize ?? DEFAULT_BATCH, after);
    if (page.length === 0) break;
    report.dropped += await dropMissing(index, store, page);
  }
  return report;
}

async function adoptUnrecorded(index: MetadataIndex, store: BlobStore, digests: string[]): Promise<number> {
  let adopted = 0;
  for (const digest of digests.filter((d) => !index.blob(d))) {
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
