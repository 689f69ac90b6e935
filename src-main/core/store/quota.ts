import type { GcReport } from '../../api/types.js';
import { formatBytes } from '../../api/format.js';
import type { BlobStore } from './blob-store.js';
import type { MetadataIndex } from './metadata.js';
import type { PinBook } from './pins.js';

/**
 * The cache quota: least-recently-used eviction from the store, read in the
 * index's access order. What must stay (prefetch rules' pins, running jobs'
 * plans, blobs in use) is decided above and handed in.
 */
export interface QuotaStore {
  readonly store: BlobStore;
  readonly metadata: MetadataIndex;
  /** Content pinned until a time (imported bundles): skipped like a rule's pins. */
  readonly pins?: Pick<PinBook, 'isPinned'>;
}

/** Over the quota, eviction goes this far below it, so it does not run again at the next blob. */
const LOW_WATER = 0.9;

export interface EvictionRequest {
  quotaBytes: number;
  pinned: ReadonlySet<string>;
  /** True while a blob is being served or ingested (BlobFetcher.isBusy): never deleted. */
  isBusy(digest: string): boolean;
  /** Room to make on top of what is stored: a job about to fetch this much. */
  reserveBytes?: number;
}

/** Blobs read from the ordered index at a time: eviction never holds the whole store in memory. */
const EVICTION_PAGE = 256;

/**
 * Least-recently-used eviction under the quota, oldest first from the
 * index's ordered access times (every pull and prefetch touches what it
 * reads; a blob never read counts from its arrival). Pinned and busy blobs
 * stay. Reads pages of the order until enough is freed, so its cost follows
 * what it frees, not the size of the cache.
 */
export async function evictToQuota(store: QuotaStore, request: EvictionRequest): Promise<GcReport> {
  const pinned = pinnedUsage(store, request.pinned);
  const report: GcReport = {
    freedBytes: 0, freedBlobs: 0, bytesUsed: store.store.usage.bytes, quotaBytes: request.quotaBytes,
    pinnedBytes: pinned.bytes, pinnedBlobs: pinned.blobs, busyBlobs: 0, summary: '',
  };
  const reserve = request.reserveBytes ?? 0;
  if (request.quotaBytes > 0 && store.store.usage.bytes + reserve > request.quotaBytes) {
    const target = Math.min(request.quotaBytes * LOW_WATER, request.quotaBytes - reserve);
    // The order on disk includes the access times of the last second.
    await store.metadata.flush().catch(() => undefined);
    for (let after: { lastAccess: number; digest: string } | undefined; store.store.usage.bytes > target;) {
      const page = store.metadata.oldestBlobs(EVICTION_PAGE, after);
      if (page.length === 0) break;
      for (const entry of page) {
        if (store.store.usage.bytes <= target) break;
        await evictOne(store, request, entry, report);
      }
      after = page.at(-1);
    }
  }
  report.bytesUsed = store.store.usage.bytes;
  report.summary = summarize(report);
  return report;
}

/** Deletes one blob from the oldest page, unless it is pinned, busy, or was read since the page was taken. */
async function evictOne(store: QuotaStore, request: EvictionRequest, entry: { digest: string; lastAccess: number }, report: GcReport): Promise<void> {
  if (request.pinned.has(entry.digest) || store.pins?.isPinned(entry.digest)) return;
  const record = store.metadata.blob(entry.digest);
  if (!record || record.lastAccess !== entry.lastAccess) return;
  if (request.isBusy(entry.digest)) {
    report.busyBlobs += 1;
    return;
  }
  await store.store.delete(entry.digest);
  store.metadata.forget(entry.digest);
  report.freedBytes += record.size;
  report.freedBlobs += 1;
}

function pinnedUsage(store: QuotaStore, pinned: ReadonlySet<string>): { bytes: number; blobs: number } {
  let bytes = 0;
  let blobs = 0;
  for (const digest of pinned) {
    const record = store.metadata.blob(digest);
    if (!record) continue;
    bytes += record.size;
    blobs += 1;
  }
  return { bytes, blobs };
}

function summarize(report: GcReport): string {
  const freed = `freed ${formatBytes(report.freedBytes)} in ${report.freedBlobs} blob${report.freedBlobs === 1 ? '' : 's'}`;
  if (report.quotaBytes === 0) return `${freed}: no cache quota is set (Settings → Cache), so nothing is evicted; the cache holds ${formatBytes(report.bytesUsed)}`;
  const kept = `${formatBytes(report.pinnedBytes)} pinned by prefetch rules${report.busyBlobs ? `, ${report.busyBlobs} in use` : ''}`;
  const over = report.bytesUsed > report.quotaBytes ? ': still over the quota, because pinned or in-use content does not fit; raise the quota or narrow the rules' : '';
  return `${freed}; the cache holds ${formatBytes(report.bytesUsed)} of ${formatBytes(report.quotaBytes)} (${kept})${over}`;
}
