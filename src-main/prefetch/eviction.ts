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

/**
 * Least-recently-used eviction under the quota. Access times are the
 * metadata index's (every pull and prefetch touches what it reads); a blob
 * never touched counts from its file time. Pinned and busy blobs stay.
 */
export async function evictToQuota(core: PrefetchCore, request: EvictionRequest): Promise<GcReport> {
  const blobs = await core.store.list();
  const pinned = blobs.filter((blob) => request.pinned.has(blob.digest));
  const report: GcReport = {
    freedBytes: 0, freedBlobs: 0, bytesUsed: core.store.usage.bytes, quotaBytes: request.quotaBytes,
    pinnedBytes: pinned.reduce((sum, blob) => sum + blob.size, 0), pinnedBlobs: pinned.length, busyBlobs: 0, summary: '',
  };
  const reserve = request.reserveBytes ?? 0;
  if (request.quotaBytes > 0 && core.store.usage.bytes + reserve > request.quotaBytes) {
    const target = Math.min(request.quotaBytes * LOW_WATER, request.quotaBytes - reserve);
    const candidates = blobs
      .filter((blob) => !request.pinned.has(blob.digest))
      .map((blob) => ({ ...blob, lastUsed: core.metadata.lastAccess(blob.digest) ?? blob.mtimeMs }))
      .sort((a, b) => a.lastUsed - b.lastUsed);
    for (const blob of candidates) {
      if (core.store.usage.bytes <= target) break;
      if (request.isBusy(blob.digest)) {
        report.busyBlobs += 1;
        continue;
      }
      await core.store.delete(blob.digest);
      core.metadata.forget(blob.digest);
      report.freedBytes += blob.size;
      report.freedBlobs += 1;
    }
  }
  report.bytesUsed = core.store.usage.bytes;
  report.summary = summarize(report);
  return report;
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
    .map(({ registry, repository, record }) => ({ registry, repository, tags: record.tags }));
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
