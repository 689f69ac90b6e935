import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import picomatch from 'picomatch';
import type { LayoverApi } from '../api/layover-api.js';
import type {
  JobStatus, PrefetchRequest, PrefetchRule, RequestRecord, RuleStatus, Settings, TagState, TransferStatus,
} from '../api/types.js';
import { isUpstreamOutage } from '../core/fetch/upstream-errors.js';
import { BandwidthBudget, type BandwidthBudgetOptions } from '../core/upstream/bandwidth.js';
import { evictToQuota } from '../core/store/quota.js';
import { isRepositoryGlob, pinnedByRules } from './rule-pins.js';
import type { GcReport } from '../api/types.js';
import { explainFailure, PrefetchError } from './failures.js';
import { formatBytes } from '../api/format.js';
import { JobQueue } from './job-queue.js';
import { upstreamTagDigest } from './planner.js';
import { createJobRunner } from './job-runner.js';
import { clientFor, resolveRepository, type PrefetchCore } from './prefetch-core.js';
import { isFinished, PrefetchState, type JobRecord, type JobSpec } from './prefetch-state.js';
import { bandwidthLimitAt, inWindow, nextRun } from './schedule.js';
import { SyncBook } from './sync-book.js';
import { PartialBlobs } from './resumable-fetch.js';
import { selectorProblem, selectTags } from './tag-selectors.js';
import { UpstreamBrowser } from './upstream-browser.js';


/** The prefetch part of LayoverApi. */
export type PrefetchApi = Pick<LayoverApi,
  'listRepositories' | 'listTags' | 'prefetch' | 'listJobs' | 'pauseJob' | 'resumeJob' | 'cancelJob'
  | 'setPrefetchPaused' | 'listRules' | 'saveRule' | 'deleteRule' | 'syncNow' | 'gc'>;

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
  /** Tuning of how prefetch yields to pulls (tests shorten the hold-off). */
  yielding?: Pick<BandwidthBudgetOptions, 'pullHoldoffMs' | 'keepAliveMs'>;
}

export interface PrefetchService {
  /** Shaped as ApiExtensions: `createApiService(core, adminUrl, { ...service.api })`. */
  readonly api: PrefetchApi;
  readonly budget: BandwidthBudget;
  /** Loads persisted jobs (and continues them), installs the bandwidth budget, starts the scheduler. */
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

export function createPrefetchService(core: PrefetchCore, options: PrefetchServiceOptions): PrefetchService {
  return new Prefetcher(core, options);
}

/**
 * Prefetch and sync: fills the cache ahead of the people who will pull, keeps
 * it current on each rule's schedule, shares the link (interactive pulls
 * first), and keeps the cache under its quota.
 */
class Prefetcher implements PrefetchService {
  readonly budget: BandwidthBudget;
  readonly api: PrefetchApi;
  private readonly state: PrefetchState;
  private readonly sync: SyncBook;
  private readonly browser: UpstreamBrowser;
  private readonly queue: JobQueue;
  private readonly partials: PartialBlobs;
  private readonly events = new EventEmitter<{ job: [JobStatus] }>();
  /** Job id -> the manifests and blobs its plan needs: not evicted while it runs. */
  private readonly pins = new Map<string, string[]>();
  private timer?: NodeJS.Timeout;
  private unsubscribe: Array<() => void> = [];
  private ticking?: Promise<void>;
  private collecting?: Promise<GcReport>;

  constructor(private readonly core: PrefetchCore, private readonly options: PrefetchServiceOptions) {
    this.state = new PrefetchState(core.store.dataDir);
    this.budget = new BandwidthBudget({
      limitOf: (registry) => {
        const settings = this.core.settings.registries.find((r) => r.name === registry);
        return settings && bandwidthLimitAt(settings, Date.now()); // wall-clock time of day; read at every chunk, so a window opening applies at once
      },
      ...options.yielding,
    });
    this.sync = new SyncBook(core, this.state);
    this.browser = new UpstreamBrowser(core);
    this.partials = new PartialBlobs(core.store.dataDir);
    const runner = createJobRunner({
      core, budget: this.budget, sync: this.sync, partials: this.partials, now: Date.now,
      pin: (jobId, digests) => (digests ? this.pins.set(jobId, digests) : this.pins.delete(jobId)),
      makeRoom: (bytes) => this.makeRoom(bytes),
    });
    this.queue = new JobQueue(this.state, runner, { concurrency: options.concurrency ?? DEFAULT_CONCURRENCY, mayRun: (record) => this.mayRun(record) });
    this.queue.on('job', (job) => this.jobChanged(job));
    this.events.setMaxListeners(0);
    this.api = this.buildApi();
  }

  async start(): Promise<void> {
    const problem = await this.state.load();
    if (problem) this.core.telemetry.note('warning', problem);
    await this.partials.open();
    await this.partials.removeOlderThan(PARTIAL_MAX_AGE_MS);
    this.core.blobs.setPacer(this.budget.pace);
    this.watchPulls();
    this.queue.start();
    this.timer = setInterval(() => void this.tick(), this.options.tickMs ?? DEFAULT_TICK_MS);
    this.timer.unref();
    void this.tick();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
    await this.ticking;
    await this.queue.stop();
    this.core.blobs.setPacer(async () => undefined);
  }

  isPaused(): boolean {
    return this.state.paused;
  }

  jobs(): JobStatus[] {
    return this.queue.list();
  }

  onJob(listener: (job: JobStatus) => void): () => void {
    this.events.on('job', listener);
    return () => this.events.off('job', listener);
  }

  /** One run at a time; each reports what it freed. */
  gc(): Promise<GcReport> {
    this.collecting ??= this.collect().finally(() => (this.collecting = undefined));
    return this.collecting;
  }

  private buildApi(): PrefetchApi {
    return {
      listRepositories: (args) => this.browser.listRepositories(args),
      listTags: (args) => this.listTags(args),
      prefetch: async (request) => this.queue.add(this.specFor(request)),
      listJobs: async () => this.queue.list(),
      pauseJob: async ({ id }) => this.queue.pause(id),
      resumeJob: async ({ id }) => this.queue.resume(id),
      cancelJob: async ({ id }) => this.queue.cancel(id),
      setPrefetchPaused: async ({ paused }) => this.setPaused(paused),
      listRules: () => this.listRules(),
      saveRule: (rule) => this.saveRule(rule),
      deleteRule: ({ id }) => this.deleteRule(id),
      syncNow: ({ ruleId } = {}) => this.syncNow(ruleId),
      gc: () => this.gc(),
    };
  }

  // ------------------------------------------------------------ jobs

  private specFor(request: PrefetchRequest): JobSpec {
    const { client, repository } = resolveRepository(this.core, request.repository, request.registry);
    const selector = request.tags ?? { kind: 'exact', tags: ['latest'] };
    const problem = selectorProblem(selector);
    if (problem) throw new PrefetchError(`cannot prefetch ${repository}: ${problem}`, 400, 'BAD_SELECTOR');
    const platforms = request.platforms ?? 'host';
    if (Array.isArray(platforms) && platforms.length === 0) throw new PrefetchError('name at least one platform, or all', 400, 'BAD_PLATFORM');
    const limit = request.bandwidthLimit;
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) {
      throw new PrefetchError(`a bandwidth limit is a whole number of bytes per second above 0, got ${limit}`, 400, 'BAD_LIMIT');
    }
    return { registry: client.name, repository, selector, platforms, ...(limit ? { bandwidthLimit: limit } : {}) };
  }

  private mayRun(record: JobRecord): boolean {
    return !this.state.paused && (!record.spec.window || inWindow(record.spec.window, Date.now()));
  }

  private async setPaused(paused: boolean): Promise<void> {
    this.state.paused = paused;
    await this.state.saveNow();
    this.queue.pump();
  }

  private jobChanged(job: JobStatus): void {
    if (job.ruleId) this.noteRuleJob(job);
    this.events.emit('job', job);
    this.core.publish?.({ type: 'job', job });
    if (job.state === 'done' && this.core.settings.quotaBytes > 0 && this.core.store.usage.bytes > this.core.settings.quotaBytes) void this.gc();
  }

  private noteRuleJob(job: JobStatus): void {
    const record = this.state.rule(job.ruleId!);
    if (job.tags.length > 0) (record.selected ??= {})[job.repository] = job.tags;
    if (!isFinished(job)) return;
    record.lastCheck = job.finishedAt;
    if (job.state === 'done') {
      record.lastSuccess = job.finishedAt;
      delete record.error;
    } else if (job.error) {
      record.error = job.error;
    }
  }

  private activeJobs(): JobRecord[] {
    return [...this.state.jobs.values()].filter((record) => !isFinished(record.status));
  }

  // ------------------------------------------------------------ tags and rules

  private async listTags(args: { registry: string; repository: string }): Promise<TagState[]> {
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
    return Promise.all(tags.map((tag) => this.sync.tagState(client.name, repository, tag, syncing.has(tag))));
  }

  private syncingTags(registry: string, repository: string): Set<string> {
    const running = this.activeJobs().filter(({ status }) => status.registry === registry && status.repository === repository && (status.state === 'planning' || status.state === 'running'));
    return new Set(running.flatMap(({ status }) => status.tags));
  }

  private async listRules(): Promise<RuleStatus[]> {
    const now = Date.now();
    return Promise.all(this.core.settings.rules.map(async (rule) => {
      const record = this.state.rules.get(rule.id) ?? {};
      const next = rule.enabled ? nextRun(rule.schedule, record.lastRun, now) : undefined;
      return {
        rule,
        tags: await this.ruleTags(rule),
        ...(record.lastCheck ? { lastCheck: record.lastCheck } : {}),
        ...(record.lastSuccess ? { lastSuccess: record.lastSuccess } : {}),
        ...(next !== undefined ? { nextRun: next } : {}),
      };
    }));
  }

  /** The tags the rule selected at its last run (before one: what it selects among the cached tags). */
  private async ruleTags(rule: PrefetchRule): Promise<TagState[]> {
    const glob = isRepositoryGlob(rule.repository);
    let selected = this.state.rules.get(rule.id)?.selected;
    if (!selected && !glob) {
      const repository = this.repositoryOf(rule);
      const cached = Object.keys(this.core.metadata.repository(rule.registry, repository)?.tags ?? {});
      selected = { [repository]: selectTags(cached, rule.tags) };
    }
    const states = Object.entries(selected ?? {}).map(async ([repository, tags]) => {
      const syncing = this.syncingTags(rule.registry, repository);
      return Promise.all(tags.map(async (tag) => {
        const state = await this.sync.tagState(rule.registry, repository, tag, syncing.has(tag));
        return glob ? { ...state, tag: `${repository}:${tag}` } : state;
      }));
    });
    return (await Promise.all(states)).flat();
  }

  private async saveRule(input: PrefetchRule): Promise<PrefetchRule> {
    const rule: PrefetchRule = { ...input, id: input.id?.trim() || randomUUID() };
    clientFor(this.core, rule.registry);
    if (!isRepositoryGlob(rule.repository)) rule.repository = this.repositoryOf(rule);
    const problem = selectorProblem(rule.tags);
    if (problem) throw new PrefetchError(`cannot save the rule for ${rule.repository}: ${problem}`, 400, 'BAD_SELECTOR');
    const rules = [...this.core.settings.rules];
    const index = rules.findIndex((existing) => existing.id === rule.id);
    if (index >= 0) rules[index] = rule;
    else rules.push(rule);
    await this.options.saveSettings({ ...this.core.settings, rules });
    // A saved rule is a new intent: it runs as its new schedule says, not as the old one ran.
    if (rule.schedule.kind === 'now') delete this.state.rule(rule.id).lastRun;
    delete this.state.rule(rule.id).selected;
    void this.tick();
    return rule;
  }

  private async deleteRule(id: string): Promise<void> {
    if (!this.core.settings.rules.some((rule) => rule.id === id)) throw new PrefetchError(`no prefetch rule ${id}`, 404, 'NOT_FOUND');
    await this.options.saveSettings({ ...this.core.settings, rules: this.core.settings.rules.filter((rule) => rule.id !== id) });
    for (const record of this.activeJobs().filter(({ status }) => status.ruleId === id)) this.queue.cancel(record.status.id);
    this.state.rules.delete(id);
    await this.state.saveNow();
  }

  private async syncNow(ruleId?: string): Promise<JobStatus[]> {
    const rules = ruleId ? [this.ruleById(ruleId)] : this.core.settings.rules.filter((rule) => rule.enabled);
    const jobs = await Promise.all(rules.map((rule) => this.syncRule(rule)));
    return jobs.flat();
  }

  private ruleById(id: string): PrefetchRule {
    const rule = this.core.settings.rules.find((candidate) => candidate.id === id);
    if (!rule) throw new PrefetchError(`no prefetch rule ${id}`, 404, 'NOT_FOUND');
    return rule;
  }

  /** One job per repository the rule covers; a rule already running keeps its jobs. */
  private async syncRule(rule: PrefetchRule): Promise<JobStatus[]> {
    const running = this.activeJobs().filter(({ status }) => status.ruleId === rule.id);
    if (running.length > 0) return running.map(({ status }) => ({ ...status }));
    const record = this.state.rule(rule.id);
    record.lastRun = Date.now();
    const spec = (repository: string): JobSpec => ({
      registry: rule.registry, repository, selector: rule.tags, platforms: rule.platforms, ruleId: rule.id,
      ...(rule.bandwidthLimit ? { bandwidthLimit: rule.bandwidthLimit } : {}),
      ...(rule.schedule.kind === 'window' ? { window: rule.schedule } : {}),
    });
    let repositories: string[];
    try {
      repositories = await this.repositoriesOf(rule);
      if (repositories.length === 0) throw new PrefetchError(`no repository of ${rule.registry} matches ${rule.repository}`, 404, 'NAME_UNKNOWN');
    } catch (error) {
      return [this.queue.addFailed(spec(rule.repository), explainFailure(error))];
    }
    return repositories.map((repository) => this.queue.add(spec(repository)));
  }

  private async repositoriesOf(rule: PrefetchRule): Promise<string[]> {
    if (!isRepositoryGlob(rule.repository)) return [this.repositoryOf(rule)];
    const matches = picomatch(rule.repository);
    return (await this.browser.allRepositories(rule.registry)).filter((name) => matches(name));
  }

  private repositoryOf(rule: PrefetchRule): string {
    return resolveRepository(this.core, rule.repository, rule.registry).repository;
  }

  // ------------------------------------------------------------ scheduler, quota, pulls

  /** Starts rules that are due, moves jobs in and out of their windows, keeps the quota. */
  private tick(): Promise<void> {
    this.ticking ??= this.runDueRules().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async runDueRules(): Promise<void> {
    this.queue.pump();
    const now = Date.now();
    for (const rule of this.core.settings.rules.filter((candidate) => candidate.enabled)) {
      const due = nextRun(rule.schedule, this.state.rules.get(rule.id)?.lastRun, now);
      if (due !== undefined && due <= now) await this.syncRule(rule).catch(() => undefined);
      else await this.checkRuleIfDue(rule, now);
    }
    if (this.core.settings.quotaBytes > 0 && this.core.store.usage.bytes > this.core.settings.quotaBytes) await this.gc().catch(() => undefined);
  }

  /** LRU eviction with everything pinned that rules and running jobs need; `reserveBytes` makes room for a job. */
  /** Between runs, a HEAD per selected tag tells whether the upstream moved it (stale); nothing is fetched. */
  private async checkRuleIfDue(rule: PrefetchRule, now: number): Promise<void> {
    const record = this.state.rule(rule.id);
    if (now - (record.lastCheck ?? 0) < (this.options.checkEveryMs ?? DEFAULT_CHECK_EVERY_MS)) return;
    if (this.activeJobs().some(({ status }) => status.ruleId === rule.id)) return;
    record.lastCheck = now;
    const client = this.core.router.find(rule.registry);
    for (const [repository, tags] of Object.entries(record.selected ?? {})) {
      for (const tag of tags) {
        const outcome = client ? await upstreamTagDigest(client, repository, tag).catch((error: unknown) => ({ error })) : { error: new Error(`registry ${rule.registry} is not configured`) };
        this.sync.checked(rule.registry, repository, tag, outcome, now);
      }
    }
  }

  private async collect(reserveBytes = 0): Promise<GcReport> {
    const pinned = await pinnedByRules(this.core, this.core.settings.rules);
    for (const digests of this.pins.values()) for (const digest of digests) pinned.add(digest);
    return evictToQuota(this.core, { quotaBytes: this.core.settings.quotaBytes, pinned, isBusy: (digest) => this.core.blobs.isBusy(digest), reserveBytes });
  }

  /** Makes room under the quota for what a job is about to fetch, or says why there is none. */
  private async makeRoom(bytes: number): Promise<void> {
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

  /** The mirror's pulls, seen through telemetry: prefetch yields while one waits or flows. */
  private watchPulls(): void {
    const onTransfer = (transfer: TransferStatus, done: boolean) => {
      if (transfer.kind === 'pull') this.budget.notePullTransfer(transfer.registry, transfer.id, done);
    };
    const onRequest = (request: RequestRecord) => {
      if (request.kind === 'manifest') this.budget.notePullActivity(request.registry);
    };
    this.core.telemetry.on('transfer', onTransfer);
    this.core.telemetry.on('request', onRequest);
    this.unsubscribe.push(() => this.core.telemetry.off('transfer', onTransfer), () => this.core.telemetry.off('request', onRequest));
  }
}
