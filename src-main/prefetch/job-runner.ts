import { setTimeout as delay } from 'node:timers/promises';
import { TokenBucket, type BandwidthBudget } from '../core/upstream/bandwidth.js';
import type { RegistryClient } from '../core/upstream/registry-client.js';
import { explainFailure, isTransient, PrefetchError, type JobInterruption } from './failures.js';
import type { Descriptor } from './image-walk.js';
import type { JobRunner, RunningJob } from './job-queue.js';
import { commitTags, planPrefetch, type Plan } from './planner.js';
import { platformsOf } from './platforms.js';
import { clientFor, type PrefetchCore } from './prefetch-core.js';
import type { JobSpec } from './prefetch-state.js';
import { fetchResumably, type PartialBlobs } from './resumable-fetch.js';
import type { SyncBook } from './sync-book.js';
import { describeSelector, needsTagList, selectTags } from './tag-selectors.js';

export interface JobRunnerDependencies {
  core: PrefetchCore;
  budget: BandwidthBudget;
  partials: PartialBlobs;
  sync: SyncBook;
  /** Holds a running job's manifests and blobs against eviction; undefined releases them. */
  pin(jobId: string, digests: string[] | undefined): void;
  /** Evicts under the quota to make room for a plan, or throws a reason why it cannot. */
  makeRoom(bytes: number): Promise<void>;
  now(): number;
}

/** Blobs one job fetches at once (like docker pull's three, one fewer so two jobs share the link well). */
const BLOBS_AT_ONCE = 2;
const ATTEMPTS_PER_BLOB = 3;
const RETRY_DELAY_MS = 1_000;
/** From this size on, a blob's progress is worth keeping across a stop (Range resume); smaller ones just go again. */
const RESUMABLE_FROM_BYTES = 1024 * 1024;

/** Plans a job (tags, manifests, sizes), then fetches what the store lacks through the core's single-flight fetcher. */
export function createJobRunner(deps: JobRunnerDependencies): JobRunner {
  return async (job) => {
    try {
      await runJob(deps, job);
    } catch (error) {
      const { spec, status } = job.record;
      if (!job.signal.aborted) deps.sync.failed(spec.registry, spec.repository, status.tags, explainFailure(error), deps.now());
      throw error;
    } finally {
      deps.pin(job.record.status.id, undefined);
    }
  };
}

async function runJob(deps: JobRunnerDependencies, job: RunningJob): Promise<void> {
  const { spec, status } = job.record;
  const client = clientFor(deps.core, spec.registry);
  job.update({ state: 'planning' });
  const tags = await chooseTags(deps.core, client, spec);
  job.update({ tags });
  const plan = await planPrefetch(deps.core, {
    client, repository: spec.repository, tags, platforms: platformsOf(spec.platforms), signal: job.signal,
    attachments: deps.core.settings.rules.find((rule) => rule.id === spec.ruleId)?.referrers !== false,
    onChecked: (tag, outcome) => deps.sync.checked(client.name, spec.repository, tag, outcome, deps.now()),
  });
  deps.pin(status.id, [...plan.manifests, ...plan.blobs.map((blob) => blob.digest)]);
  const partialBytes = (await Promise.all(plan.missing.map((blob) => deps.partials.size(blob.digest)))).reduce((sum, size) => sum + size, 0);
  job.update({
    state: 'running', bytesTotal: plan.totalBytes, bytesDone: plan.totalBytes - plan.missingBytes + partialBytes,
    blobsTotal: plan.blobs.length, blobsDone: plan.blobs.length - plan.missing.length, attachments: plan.attachments,
  });
  await deps.makeRoom(plan.missingBytes);
  try {
    await fetchMissing(deps, job, client, plan);
  } catch (error) {
    // A cancelled job will not come back for its partial blobs; a paused or failed one may.
    if ((job.signal.reason as JobInterruption | undefined)?.reason === 'cancelled') await Promise.all(plan.missing.map((blob) => deps.partials.remove(blob.digest)));
    throw error;
  }
  job.signal.throwIfAborted();
  commitTags(deps.core, client.name, spec.repository, plan.tags, deps.now());
  deps.sync.succeeded(client.name, spec.repository, plan.tags, deps.now());
}

/** The tags a job wants: its exact list, or the selector applied to the upstream's tag list. */
async function chooseTags(core: PrefetchCore, client: RegistryClient, spec: JobSpec): Promise<string[]> {
  if (!needsTagList(spec.selector)) return selectTags([], spec.selector);
  const { tags } = await core.tags.list(client, spec.repository);
  const chosen = selectTags(tags, spec.selector);
  if (chosen.length > 0) return chosen;
  const some = tags.slice(0, 10).join(', ') + (tags.length > 10 ? `, … (${tags.length} in all)` : '');
  throw new PrefetchError(`no tag of ${spec.repository} matches ${describeSelector(spec.selector)}; it has ${some || 'no tags'}`, 404, 'NO_MATCHING_TAG');
}

async function fetchMissing(deps: JobRunnerDependencies, job: RunningJob, client: RegistryClient, plan: Plan): Promise<void> {
  const limit = job.record.spec.bandwidthLimit;
  const cap = limit ? new TokenBucket(limit) : undefined;
  const queue = [...plan.missing];
  let failure: unknown;
  const worker = async () => {
    for (let blob = queue.shift(); blob && failure === undefined; blob = queue.shift()) {
      try {
        await fetchBlob(deps, job, client, blob, cap);
      } catch (error) {
        failure ??= error; // the other worker finishes its blob and stops
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(BLOBS_AT_ONCE, queue.length) }, worker));
  if (failure !== undefined) throw failure;
}

/**
 * One blob, retried on failures a retry can cure; a paused or cancelled job
 * stops it at the next chunk. Large blobs keep their progress (Range resume);
 * small ones go through the core's single-flight fetcher. The job's bytes
 * done follow what is really kept: the partial file, then the whole blob.
 */
async function fetchBlob(deps: JobRunnerDependencies, job: RunningJob, client: RegistryClient, blob: Descriptor, cap: TokenBucket | undefined): Promise<void> {
  const resumable = blob.size >= RESUMABLE_FROM_BYTES;
  const kept = () => (resumable ? deps.partials.size(blob.digest) : Promise.resolve(0));
  let credited = await kept(); // counted when the job was planned
  for (let attempt = 1; ; attempt++) {
    const now = await kept();
    job.addBytes(now - credited, { transferred: false });
    credited = now;
    const onBytes = (bytes: number) => {
      credited += bytes;
      job.addBytes(bytes);
    };
    const transfer = { registry: client.name, signal: job.signal, onBytes, ...(cap ? { cap } : {}) };
    const repository = job.record.spec.repository;
    try {
      if (resumable) {
        await fetchResumably(deps, { client, repository, blob, transfer });
      } else {
        await deps.budget.runPrefetch(transfer, async () => {
          const source = await deps.core.blobs.open({ client, repository, digest: blob.digest, kind: 'prefetch' });
          await source.complete();
        });
      }
      // Bytes that came through another transfer (a pull's) or from the store count as done, not as rate.
      job.addBytes(blob.size - credited, { transferred: false });
      job.update({ blobsDone: job.record.status.blobsDone + 1 });
      return;
    } catch (error) {
      if (job.signal.aborted) throw job.signal.reason;
      if (attempt >= ATTEMPTS_PER_BLOB || !isTransient(error)) throw error;
      await delay(RETRY_DELAY_MS * attempt, undefined, { signal: job.signal }).catch(() => {
        throw job.signal.reason;
      });
    }
  }
}
