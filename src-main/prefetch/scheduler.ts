import type { PrefetchRule } from '../api/types.js';
import type { CacheRoom } from './cache-room.js';
import type { JobQueue } from './job-queue.js';
import { upstreamTagDigest } from './planner.js';
import type { PrefetchCore } from './prefetch-core.js';
import type { PrefetchState } from './prefetch-state.js';
import type { PrefetchRules } from './rules.js';
import { nextRun } from './schedule.js';
import type { SyncBook } from './sync-book.js';

export interface SchedulerDependencies {
  core: PrefetchCore;
  state: PrefetchState;
  rules: PrefetchRules;
  queue: JobQueue;
  sync: SyncBook;
  cache: CacheRoom;
  /** How often schedules, time windows and the quota are looked at. */
  tickMs: number;
  /** How often a rule's tags are checked upstream (one HEAD each) between its runs, so stale tags show. */
  checkEveryMs: number;
}

/**
 * The scheduler's tick: starts rules that are due, moves jobs in and out of
 * their windows, checks rules' tags between runs, keeps the quota.
 */
export class Scheduler {
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;

  constructor(private readonly deps: SchedulerDependencies) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.deps.tickMs);
    this.timer.unref();
    void this.tick();
  }

  /** Stops the timer and waits for a tick under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
  }

  /** One tick at a time: a tick asked for while one runs is that one. */
  tick(): Promise<void> {
    this.ticking ??= this.runDueRules().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async runDueRules(): Promise<void> {
    const { state, rules, queue, cache } = this.deps;
    queue.pump();
    const now = Date.now();
    for (const rule of rules.enabled()) {
      const due = nextRun(rule.schedule, state.rules.get(rule.id)?.lastRun, now);
      if (due !== undefined && due <= now) await rules.run(rule).catch(() => undefined);
      else await this.checkRuleIfDue(rule, now);
    }
    if (cache.isOverQuota()) await cache.gc().catch(() => undefined);
  }

  /** Between runs, a HEAD per selected tag tells whether the upstream moved it (stale); nothing is fetched. */
  private async checkRuleIfDue(rule: PrefetchRule, now: number): Promise<void> {
    const { core, state, rules, sync } = this.deps;
    const record = state.rule(rule.id);
    if (now - (record.lastCheck ?? 0) < this.deps.checkEveryMs) return;
    if (rules.jobsOf(rule.id).length > 0) return;
    record.lastCheck = now;
    const client = core.router.find(rule.registry);
    for (const [repository, tags] of Object.entries(record.selected ?? {})) {
      for (const tag of tags) {
        const outcome = client ? await upstreamTagDigest(client, repository, tag).catch((error: unknown) => ({ error })) : { error: new Error(`registry ${rule.registry} is not configured`) };
        sync.checked(rule.registry, repository, tag, outcome, now);
      }
    }
  }
}
