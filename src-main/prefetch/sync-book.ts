import type { EpochMs, TagState } from '../api/types.js';
import { summarizeAttachments } from '../core/fetch/referrers.js';
import { isAttachmentTag } from '../core/oci/referrers.js';
import { explainFailure } from './failures.js';
import { collectImage } from './image-walk.js';
import type { ResolvedTag } from './planner.js';
import { isUpstreamOutage } from '../core/upstream/upstream-errors.js';
import { resolveRepository, storeManifestLoader, type PrefetchCore } from './prefetch-core.js';
import { activeJobs, tagKey, type PrefetchState } from './prefetch-state.js';

/**
 * Where each tag stands: what the upstream had at the last check (a HEAD),
 * what the cache holds, and how the last sync went. The mirror's own
 * revalidations count as checks too (they update the cached tag).
 */
export class SyncBook {
  constructor(private readonly core: PrefetchCore, private readonly state: PrefetchState) {}

  /** Every tag of a repository upstream (the cached ones while the upstream is out), each with where it stands. */
  async listTags(args: { registry: string; repository: string }): Promise<TagState[]> {
    const { client, repository } = resolveRepository(this.core, args.repository, args.registry);
    let tags: string[];
    try {
      tags = (await this.core.tags.list(client, repository)).tags;
    } catch (error) {
      const cached = Object.keys(this.core.metadata.repository(client.name, repository)?.tags ?? {});
      if (!isUpstreamOutage(error) || cached.length === 0) throw error;
      tags = cached.sort();
    }
    const syncing = this.syncingTags(client.name, repository);
    return Promise.all(tags.map((tag) => this.tagState(client.name, repository, tag, syncing.has(tag))));
  }

  /** The tags a job of this repository is planning or fetching now. */
  syncingTags(registry: string, repository: string): Set<string> {
    const running = activeJobs(this.state).filter(({ status }) => status.registry === registry && status.repository === repository && (status.state === 'planning' || status.state === 'running'));
    return new Set(running.flatMap(({ status }) => status.tags));
  }

  checked(registry: string, repository: string, tag: string, outcome: { digest?: string; error?: unknown }, now: EpochMs): void {
    const record = this.state.tag(tagKey(registry, repository, tag));
    record.lastCheck = now;
    if (outcome.digest) record.upstreamDigest = outcome.digest;
    if (outcome.error !== undefined) this.markFailed(record, explainFailure(outcome.error), now);
    this.state.saveSoon();
  }

  succeeded(registry: string, repository: string, tags: ResolvedTag[], now: EpochMs): void {
    for (const { tag } of tags) {
      const record = this.state.tag(tagKey(registry, repository, tag));
      record.lastSuccess = now;
      delete record.error;
    }
    this.state.saveSoon();
  }

  failed(registry: string, repository: string, tags: string[], reason: string, now: EpochMs): void {
    for (const tag of tags) this.markFailed(this.state.tag(tagKey(registry, repository, tag)), reason, now);
    this.state.saveSoon();
  }

  async tagState(registry: string, repository: string, tag: string, syncing: boolean): Promise<TagState> {
    const cached = this.core.metadata.getTag(registry, repository, tag);
    const record = this.state.tags.get(tagKey(registry, repository, tag)) ?? {};
    const mirrorCheckedLater = cached !== undefined && cached.checkedAt > (record.lastCheck ?? 0);
    const upstreamDigest = mirrorCheckedLater ? cached.digest : record.upstreamDigest;
    const lastCheck = Math.max(record.lastCheck ?? 0, cached?.checkedAt ?? 0) || undefined;
    const failedLast = record.error !== undefined && (record.lastFailure ?? 0) >= (record.lastSuccess ?? 0);
    const complete = cached !== undefined && (await this.isStoredComplete(cached.digest));
    const state: TagState['state'] = syncing ? 'syncing'
      : failedLast ? 'failed'
        : !complete ? 'missing'
          : upstreamDigest !== undefined && upstreamDigest !== cached.digest ? 'stale'
            : 'in-sync';
    return {
      tag,
      state,
      ...(cached ? { cachedDigest: cached.digest } : {}),
      ...(upstreamDigest ? { upstreamDigest } : {}),
      ...(lastCheck ? { lastCheck } : {}),
      ...(record.lastSuccess ? { lastSuccess: record.lastSuccess } : {}),
      ...(failedLast ? { error: record.error } : {}),
      ...(cached && !isAttachmentTag(tag) ? { attachments: summarizeAttachments(await this.core.referrers.attachments(registry, repository, cached.digest)) } : {}),
    };
  }

  /** The tag's manifest and every blob of the platforms the cache holds are in the store. */
  async isStoredComplete(digest: string): Promise<boolean> {
    try {
      const content = await collectImage(storeManifestLoader(this.core), digest, undefined, digest);
      if (content.blobs.length === 0) return false;
      for (const blob of content.blobs) {
        if ((await this.core.store.sizeOf(blob.digest)) === undefined) return false;
      }
      return true;
    } catch {
      return false;
    }
  }

  private markFailed(record: { error?: string; lastFailure?: EpochMs }, reason: string, now: EpochMs): void {
    record.error = reason;
    record.lastFailure = now;
  }
}
