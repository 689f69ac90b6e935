import picomatch from 'picomatch';
import type { PrefetchRule } from '../api/types.js';
import { formatBytes } from '../api/format.js';
import { collectImage } from './image-walk.js';
import { resolveRepository, storeManifestLoader, type PrefetchCore } from './prefetch-core.js';
import { selectTags } from './tag-selectors.js';
import type { GcReport } from '../api/types.js';

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
export async function evictToQuota(core: PrefetchCore, request: EvictionRequest): Promise<GcReport> {
  const pinned = pinnedUsage(core, request.pinned);
  const report: GcReport = {
    freedBytes: 0, freedBlobs: 0, bytesUsed: core.store.usage.bytes, quotaBytes: request.quotaBytes,
    pinnedBytes: pinned.bytes, pinnedBlobs: pinned.blobs, busyBlobs: 0, summary: '',
  };
  const reserve = request.reserveBytes ?? 0;
  if (request.quotaBytes > 0 && core.store.usage.bytes + reserve > request.quotaBytes) {
    const target = Math.min(request.quotaBytes * LOW_WATER, request.quotaBytes - reserve);
    // The order on disk includes the access times of the last second.
    await core.metadata.flush().catch(() => undefined);
    for (let after: { lastAccess: number; digest: string } | undefined; core.store.usage.bytes > target;) {
      const page = core.metadata.oldestBlobs(EVICTION_PAGE, after);
      if (page.length === 0) break;
      for (const entry of page) {
        if (core.store.usage.bytes <= target) break;
        await evictOne(core, request, entry, report);
      }
      after = page.at(-1);
    }
  }
  report.bytesUsed = core.store.usage.bytes;
  report.summary = summarize(report);
  return report;
}

/** Deletes one blob from the oldest page, unless it is pinned, busy, or was read since the page was taken. */
async function evictOne(core: PrefetchCore, request: EvictionRequest, entry: { digest: string; lastAccess: number }, report: GcReport): Promise<void> {
  if (request.pinned.has(entry.digest)) return;
  const record = core.metadata.blob(entry.digest);
  if (!record || record.lastAccess !== entry.lastAccess) return;
  if (request.isBusy(entry.digest)) {
    report.busyBlobs += 1;
    return;
  }
  await core.store.delete(entry.digest);
  core.metadata.forget(entry.digest);
  report.freedBytes += record.size;
  report.freedBlobs += 1;
}

function pinnedUsage(core: PrefetchCore, pinned: ReadonlySet<string>): { bytes: number; blobs: number } {
  let bytes = 0;
  let blobs = 0;
  for (const digest of pinned) {
    const record = core.metadata.blob(digest);
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

/**
 * Every stored manifest and blob reachable from an enabled rule's selected
 * tags, as the cache holds them: these are what the office asked to keep.
 */
export async function pinnedByRules(core: PrefetchCore, rules: readonly PrefetchRule[]): Promise<Set<string>> {
  const pinned = new Set<string>();
  const load = storeManifestLoader(core);
  for (const rule of rules.filter((r) => r.enabled)) {
    for (const { registry, repository, tags } of cachedRepositoriesOf(core, rule)) {
      for (const tag of selectTags(Object.keys(tags), rule.tags)) {
        const digest = Object.hasOwn(tags, tag) ? tags[tag]!.digest : undefined;
        if (!digest) continue;
        const content = await collectImage(load, digest, undefined, `${registry}/${repository}:${tag}`).catch(() => undefined);
        for (const manifest of content?.manifests ?? []) pinned.add(manifest);
        for (const blob of content?.blobs ?? []) pinned.add(blob.digest);
      }
    }
  }
  return pinned;
}

/** The cached repositories a rule covers: its one repository, or those its glob matches. */
function cachedRepositoriesOf(core: PrefetchCore, rule: PrefetchRule) {
  const matches = isRepositoryGlob(rule.repository) ? picomatch(rule.repository) : undefined;
  const exact = matches ? undefined : resolveRepositorySafely(core, rule);
  return core.metadata.repositories()
    .filter(({ registry, repository }) => registry === rule.registry && (matches ? matches(repository) : repository === exact))
    .map(({ registry, repository }) => ({ registry, repository, tags: core.metadata.repository(registry, repository)?.tags ?? {} }));
}

function resolveRepositorySafely(core: PrefetchCore, rule: PrefetchRule): string | undefined {
  try {
    return resolveRepository(core, rule.repository, rule.registry).repository;
  } catch {
    return undefined;
  }
}

/** "team/*" is a glob; "team/app" is one repository. */
export function isRepositoryGlob(repository: string): boolean {
  return picomatch.scan(repository).isGlob;
}
