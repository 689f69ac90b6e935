import type { GcReport } from '../api/types.js';
import { formatBytes } from '../api/format.js';
import { evictToQuota } from '../core/store/quota.js';
import { PrefetchError } from './failures.js';
import type { PrefetchCore } from './prefetch-core.js';
import { pinnedByRules } from './rule-pins.js';

/**
 * Prefetch's side of the cache quota: the store's LRU eviction
 * (core/store/quota.ts), with everything pinned that the rules select and the
 * running jobs' plans need, and room made before a job fetches.
 */
export class CacheRoom {
  /** Job id -> the manifests and blobs its plan needs: not evicted while it runs. */
  private readonly pins = new Map<string, string[]>();
  private collecting?: Promise<GcReport>;

  constructor(private readonly core: PrefetchCore) {}

  /** Pins a running job's plan (undefined: the job ended, its pins go). */
  pin(jobId: string, digests: string[] | undefined): void {
    if (digests) this.pins.set(jobId, digests);
    else this.pins.delete(jobId);
  }

  isOverQuota(): boolean {
    const quota = this.core.settings.quotaBytes;
    return quota > 0 && this.core.store.usage.bytes > quota;
  }

  /** One run at a time; each reports what it freed. */
  gc(): Promise<GcReport> {
    this.collecting ??= this.collect().finally(() => (this.collecting = undefined));
    return this.collecting;
  }

  /** Makes room under the quota for what a job is about to fetch, or says why there is none. */
  async makeRoom(bytes: number): Promise<void> {
    const quota = this.core.settings.quotaBytes;
    if (quota === 0 || this.core.store.usage.bytes + bytes <= quota) return;
    await this.collecting;
    const report = await this.collect(bytes);
    if (report.bytesUsed + bytes <= quota) return;
    throw new PrefetchError(
      `the cache quota of ${formatBytes(quota)} has no room for the ${formatBytes(bytes)} this job needs: ${formatBytes(report.pinnedBytes)} is pinned by rules and running jobs; raise the quota (Settings → Cache) or select fewer tags or platforms`,
      507, 'QUOTA_EXCEEDED',
    );
  }

  /** LRU eviction with everything pinned that rules and running jobs need; `reserveBytes` makes room for a job. */
  private async collect(reserveBytes = 0): Promise<GcReport> {
    const pinned = await pinnedByRules(this.core, this.core.settings.rules);
    for (const digests of this.pins.values()) for (const digest of digests) pinned.add(digest);
    return evictToQuota(this.core, { quotaBytes: this.core.settings.quotaBytes, pinned, isBusy: (digest) => this.core.blobs.isBusy(digest), reserveBytes });
  }
}
