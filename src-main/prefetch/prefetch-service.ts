import { EventEmitter } from 'node:events';
import type { GcReport, JobStatus, Settings } from '../api/types.js';
import type { BandwidthBudget } from '../core/upstream/bandwidth.js';
import { CacheRoom } from './cache-room.js';
import { JobQueue } from './job-queue.js';
import { createJobRunner } from './job-runner.js';
import { createPrefetchApi, type PrefetchApi } from './prefetch-api.js';
import type { PrefetchCore } from './prefetch-core.js';
import { PrefetchState, type JobRecord } from './prefetch-state.js';
import { PrefetchRules } from './rules.js';
import { inWindow } from './schedule.js';
import { Scheduler } from './scheduler.js';
import { SyncBook } from './sync-book.js';
import { UpstreamBrowser } from './upstream-browser.js';

export type { PrefetchApi } from './prefetch-api.js';

export interface PrefetchServiceOptions {
  /**
   * Saves settings the way the API's updateSettings does (validation, the
   * settings store, core.applySettings): rules live in the one settings schema.
   */
  saveSettings(settings: Settings): Promise<unknown>;
  /** Jobs that run at once (default 2). */
  concurrency?: number;
  /** How often schedules, time windows and the quota are looked at (default 30 s). */
  tickMs?: number;
  /** How often a rule's tags are checked upstream (one HEAD each) between its runs, so stale tags show (default 1 h). */
  checkEveryMs?: number;
}

export interface PrefetchService {
  /** Prefetch's part of LayoverApi. */
  readonly api: PrefetchApi;
  /** The core's bandwidth budget, which prefetch transfers run under. */
  readonly budget: BandwidthBudget;
  /** Loads persisted jobs (and continues them), starts the scheduler. */
  start(): Promise<void>;
  stop(): Promise<void>;
  gc(): Promise<GcReport>;
  /** For Status.prefetchPaused. */
  isPaused(): boolean;
  /** For Activity.jobs. */
  jobs(): JobStatus[];
  /** Job changes (also published as LayoverEvent { type: 'job' } through core.publish); returns the unsubscribe function. */
  onJob(listener: (job: JobStatus) => void): () => void;
}

const DEFAULT_CONCURRENCY = 2;
const DEFAULT_TICK_MS = 30_000;
const DEFAULT_CHECK_EVERY_MS = 60 * 60_000;
/** A partial blob no job came back for in this long is abandoned. */
const PARTIAL_MAX_AGE_MS = 7 * 24 * 3600_000;

/**
 * Prefetch and sync: fills the cache ahead of the people who will pull, keeps
 * it current on each rule's schedule, shares the link (interactive pulls
 * first, through the core's bandwidth budget), and keeps the cache under its
 * quota. Each job is a part of its own; this wires them, in dependency order.
 */
export function createPrefetchService(core: PrefetchCore, options: PrefetchServiceOptions): PrefetchService {
  const state = new PrefetchState(core.store.dataDir);
  const sync = new SyncBook(core, state);
  const browser = new UpstreamBrowser(core);
  // The fetcher's own partial files: the bytes its resumable mode keeps are the ones a job counts and removes.
  const partials = core.blobs.partials;
  const cache = new CacheRoom(core);
  const runner = createJobRunner({
    core, budget: core.bandwidth, sync, partials, now: Date.now,
    pin: (jobId, digests) => cache.pin(jobId, digests),
    makeRoom: (bytes) => cache.makeRoom(bytes),
  });
  const mayRun = (record: JobRecord) => !state.paused && (!record.spec.window || inWindow(record.spec.window, Date.now()));
  const queue = new JobQueue(state, runner, { concurrency: options.concurrency ?? DEFAULT_CONCURRENCY, mayRun });
  const rules = new PrefetchRules({ core, state, sync, queue, browser, saveSettings: options.saveSettings });
  const scheduler = new Scheduler({
    core, state, rules, queue, sync, cache,
    tickMs: options.tickMs ?? DEFAULT_TICK_MS,
    checkEveryMs: options.checkEveryMs ?? DEFAULT_CHECK_EVERY_MS,
  });
  const events = new EventEmitter<{ job: [JobStatus] }>().setMaxListeners(0);
  queue.on('job', (job) => {
    rules.noteJob(job);
    events.emit('job', job);
    core.publish?.({ type: 'job', job });
    if (job.state === 'done' && cache.isOverQuota()) void cache.gc();
  });

  return {
    api: createPrefetchApi({ core, state, queue, rules, sync, scheduler, cache, browser }),
    budget: core.bandwidth,
    async start() {
      const problem = await state.load();
      if (problem) core.telemetry.note('warning', problem);
      await partials.open();
      await partials.removeOlderThan(PARTIAL_MAX_AGE_MS);
      queue.start();
      scheduler.start();
    },
    async stop() {
      await scheduler.stop();
      await queue.stop();
    },
    gc: () => cache.gc(),
    isPaused: () => state.paused,
    jobs: () => queue.list(),
    onJob(listener) {
      events.on('job', listener);
      return () => events.off('job', listener);
    },
  };
}
