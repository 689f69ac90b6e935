import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { EpochMs, JobStatus, TagSelector } from '../api/types.js';
import type { PlatformChoice } from './platforms.js';
import type { TimeWindow } from './schedule.js';

/** What a job was asked to do; its tags are chosen when it is planned. */
export interface JobSpec {
  registry: string;
  /** As the upstream names it (library/ already added for Docker Hub). */
  repository: string;
  selector: TagSelector;
  platforms: PlatformChoice;
  bandwidthLimit?: number;
  ruleId?: string;
  /** A rule's nightly window: the job moves bytes only while it is open. */
  window?: TimeWindow;
}

export interface JobRecord {
  spec: JobSpec;
  status: JobStatus;
}

/** What Layover learned about one upstream tag. */
export interface TagRecord {
  upstreamDigest?: string;
  lastCheck?: EpochMs;
  lastSuccess?: EpochMs;
  lastFailure?: EpochMs;
  error?: string;
}

export interface RuleRecord {
  lastRun?: EpochMs;
  lastCheck?: EpochMs;
  lastSuccess?: EpochMs;
  error?: string;
  /** Repository -> the tags the rule selected at its last run. */
  selected?: Record<string, string[]>;
}

interface StateFile {
  version: 1;
  paused: boolean;
  jobs: JobRecord[];
  tags: Record<string, TagRecord>;
  rules: Record<string, RuleRecord>;
}

const STATE_FILE = join('prefetch', 'state.json');
/** Progress is saved at most this often; state changes are saved at once. */
const PROGRESS_SAVE_DELAY_MS = 1_000;
/** Finished jobs kept for the dashboard's history. */
const FINISHED_JOBS_KEPT = 50;

export const isFinished = (status: JobStatus): boolean => status.state === 'done' || status.state === 'failed' || status.state === 'cancelled';

/**
 * Prefetch's own memory under the data directory: the jobs (so one survives
 * a restart and continues), the global pause, and what each rule and tag
 * last saw. Written atomically (temp file + rename), like the metadata index.
 */
export class PrefetchState {
  paused = false;
  readonly jobs = new Map<string, JobRecord>();
  readonly tags = new Map<string, TagRecord>();
  readonly rules = new Map<string, RuleRecord>();
  private readonly path: string;
  private saveTimer?: NodeJS.Timeout;
  private saving: Promise<void> = Promise.resolve();

  constructor(dataDir: string) {
    this.path = join(dataDir, STATE_FILE);
  }

  /**
   * Reads the saved state. A file that cannot be read as JSON is moved aside
   * rather than stopping Layover: the mirror matters more than prefetch's
   * memory. Returns what a person should know about that, if anything.
   */
  async load(): Promise<string | undefined> {
    await mkdir(join(this.path, '..'), { recursive: true });
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`cannot read ${this.path}: ${(error as Error).message}`);
    }
    let file: StateFile;
    try {
      file = JSON.parse(text) as StateFile;
    } catch (error) {
      const aside = `${this.path}.unreadable-${Date.now()}`;
      await rename(this.path, aside);
      return `Prefetch could not read its saved jobs (${(error as Error).message}); started afresh and kept the old file as ${aside}`;
    }
    if (file.version !== 1) return undefined;
    this.paused = file.paused;
    for (const job of file.jobs) this.jobs.set(job.status.id, job);
    for (const [key, record] of Object.entries(file.tags)) this.tags.set(key, record);
    for (const [key, record] of Object.entries(file.rules)) this.rules.set(key, record);
    return undefined;
  }

  /** Saves now (job created, state changed): a kill -9 a moment later must not lose it. */
  saveNow(): Promise<void> {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    this.dropOldJobs();
    const snapshot = JSON.stringify(this.snapshot());
    this.saving = this.saving.then(() => writeFileAtomic(this.path, snapshot)).catch((error: Error) => {
      console.error(`layover: could not save ${this.path}: ${error.message}`);
    });
    return this.saving;
  }

  /** Saves soon: progress and check times, coalesced. */
  saveSoon(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => void this.saveNow(), PROGRESS_SAVE_DELAY_MS);
    this.saveTimer.unref();
  }

  tag(key: string): TagRecord {
    let record = this.tags.get(key);
    if (!record) this.tags.set(key, (record = {}));
    return record;
  }

  rule(id: string): RuleRecord {
    let record = this.rules.get(id);
    if (!record) this.rules.set(id, (record = {}));
    return record;
  }

  private snapshot(): StateFile {
    return {
      version: 1,
      paused: this.paused,
      jobs: [...this.jobs.values()],
      // fromEntries defines own properties, so a tag named "__proto__" stays data.
      tags: Object.fromEntries(this.tags),
      rules: Object.fromEntries(this.rules),
    };
  }

  private dropOldJobs(): void {
    const finished = [...this.jobs.values()].filter((job) => isFinished(job.status)).sort((a, b) => (b.status.finishedAt ?? 0) - (a.status.finishedAt ?? 0));
    for (const old of finished.slice(FINISHED_JOBS_KEPT)) this.jobs.delete(old.status.id);
  }
}

export function tagKey(registry: string, repository: string, tag: string): string {
  return `${registry}/${repository}:${tag}`;
}

/** Jobs not yet done, failed or cancelled. */
export function activeJobs(state: PrefetchState): JobRecord[] {
  return [...state.jobs.values()].filter((record) => !isFinished(record.status));
}
