import { randomUUID } from 'node:crypto';
import picomatch from 'picomatch';
import type { JobStatus, PrefetchRule, RuleStatus, Settings, TagState } from '../api/types.js';
import { explainFailure, PrefetchError } from './failures.js';
import type { JobQueue } from './job-queue.js';
import { clientFor, resolveRepository, type PrefetchCore } from './prefetch-core.js';
import { activeJobs, isFinished, type JobSpec, type PrefetchState } from './prefetch-state.js';
import { isRepositoryGlob } from './rule-pins.js';
import { nextRun } from './schedule.js';
import type { SyncBook } from './sync-book.js';
import { selectorProblem, selectTags } from './tag-selectors.js';
import type { UpstreamBrowser } from './upstream-browser.js';

export interface PrefetchRulesDependencies {
  core: PrefetchCore;
  state: PrefetchState;
  sync: SyncBook;
  queue: JobQueue;
  browser: UpstreamBrowser;
  /**
   * Saves settings the way the API's updateSettings does (validation, the
   * settings store, the core taking them): rules live in the one settings schema.
   */
  saveSettings(settings: Settings): Promise<unknown>;
}

/**
 * The prefetch rules: kept in the settings, with what each last did kept in
 * the prefetch state; a run of a rule is one job per repository it covers.
 */
export class PrefetchRules {
  constructor(private readonly deps: PrefetchRulesDependencies) {}

  private get core(): PrefetchCore {
    return this.deps.core;
  }

  private get state(): PrefetchState {
    return this.deps.state;
  }

  enabled(): PrefetchRule[] {
    return this.core.settings.rules.filter((rule) => rule.enabled);
  }

  async list(): Promise<RuleStatus[]> {
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

  async save(input: PrefetchRule): Promise<PrefetchRule> {
    const rule: PrefetchRule = { ...input, id: input.id?.trim() || randomUUID() };
    clientFor(this.core, rule.registry);
    if (!isRepositoryGlob(rule.repository)) rule.repository = this.repositoryOf(rule);
    const problem = selectorProblem(rule.tags);
    if (problem) throw new PrefetchError(`cannot save the rule for ${rule.repository}: ${problem}`, 400, 'BAD_SELECTOR');
    const rules = [...this.core.settings.rules];
    const index = rules.findIndex((existing) => existing.id === rule.id);
    if (index >= 0) rules[index] = rule;
    else rules.push(rule);
    await this.deps.saveSettings({ ...this.core.settings, rules });
    // A saved rule is a new intent: it runs as its new schedule says, not as the old one ran.
    if (rule.schedule.kind === 'now') delete this.state.rule(rule.id).lastRun;
    delete this.state.rule(rule.id).selected;
    return rule;
  }

  async delete(id: string): Promise<void> {
    if (!this.core.settings.rules.some((rule) => rule.id === id)) throw new PrefetchError(`no prefetch rule ${id}`, 404, 'NOT_FOUND');
    await this.deps.saveSettings({ ...this.core.settings, rules: this.core.settings.rules.filter((rule) => rule.id !== id) });
    for (const record of activeJobs(this.state).filter(({ status }) => status.ruleId === id)) this.deps.queue.cancel(record.status.id);
    this.state.rules.delete(id);
    await this.state.saveNow();
  }

  /** Runs one rule now, or every enabled one. */
  async syncNow(ruleId?: string): Promise<JobStatus[]> {
    const rules = ruleId ? [this.byId(ruleId)] : this.enabled();
    const jobs = await Promise.all(rules.map((rule) => this.run(rule)));
    return jobs.flat();
  }

  /** One job per repository the rule covers; a rule already running keeps its jobs. */
  async run(rule: PrefetchRule): Promise<JobStatus[]> {
    const running = this.jobsOf(rule.id);
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
      return [this.deps.queue.addFailed(spec(rule.repository), explainFailure(error))];
    }
    return repositories.map((repository) => this.deps.queue.add(spec(repository)));
  }

  /** The rule's jobs still queued or running. */
  jobsOf(ruleId: string) {
    return activeJobs(this.state).filter(({ status }) => status.ruleId === ruleId);
  }

  /** A rule's job changed: what it selected, and how its last run went. */
  noteJob(job: JobStatus): void {
    if (!job.ruleId) return;
    const record = this.state.rule(job.ruleId);
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

  private byId(id: string): PrefetchRule {
    const rule = this.core.settings.rules.find((candidate) => candidate.id === id);
    if (!rule) throw new PrefetchError(`no prefetch rule ${id}`, 404, 'NOT_FOUND');
    return rule;
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
      const syncing = this.deps.sync.syncingTags(rule.registry, repository);
      return Promise.all(tags.map(async (tag) => {
        const state = await this.deps.sync.tagState(rule.registry, repository, tag, syncing.has(tag));
        return glob ? { ...state, tag: `${repository}:${tag}` } : state;
      }));
    });
    return (await Promise.all(states)).flat();
  }

  private async repositoriesOf(rule: PrefetchRule): Promise<string[]> {
    if (!isRepositoryGlob(rule.repository)) return [this.repositoryOf(rule)];
    const matches = picomatch(rule.repository);
    return (await this.deps.browser.allRepositories(rule.registry)).filter((name) => matches(name));
  }

  private repositoryOf(rule: PrefetchRule): string {
    return resolveRepository(this.core, rule.repository, rule.registry).repository;
  }
}
