import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { JobState, JobStatus } from '../api/types.js';
import { explainFailure, JobInterruption, PrefetchError } from './failures.js';
import { isFinished, type JobRecord, type JobSpec, type PrefetchState } from './prefetch-state.js';

/** A job while it runs, as its runner sees it. */
export interface RunningJob {
  readonly record: JobRecord;
  /** Aborted with a JobInterruption when the job is paused, cancelled, or must wait. */
  readonly signal: AbortSignal;
  /** Planning results and state changes. */
  update(patch: Partial<Pick<JobStatus, 'state' | 'tags' | 'bytesDone' | 'bytesTotal' | 'blobsDone' | 'blobsTotal' | 'attachments'>>): void;
  /** Bytes that crossed the link (they count towards the rate), or were found done some other way (they do not). */
  addBytes(bytes: number, options?: { transferred: boolean }): void;
}

export type JobRunner = (job: RunningJob) => Promise<void>;

export interface JobQueueOptions {
  /** Jobs that run at once. */
  concurrency: number;
  /** Whether a queued job may start now (its time window; prefetch not paused). */
  mayRun(record: JobRecord): boolean;
  now?: () => number;
}

/** Rate over the last few seconds: what the link does now, not the average since the start. */
const RATE_WINDOW_MS = 5_000;
/** Progress events are for eyes: a few per second per job is plenty. */
const PROGRESS_EVENT_INTERVAL_MS = 250;

interface Active {
  controller: AbortController;
  done: Promise<void>;
  samples: Array<{ at: number; bytes: number }>;
  lastEvent: number;
}

/**
 * The prefetch jobs: a queue with a concurrency limit, pause, resume and
 * cancel, progress with rate and ETA, and persistence through PrefetchState
 * so that a job that was running when Layover stopped (or was killed) is
 * queued again at start and re-planned: it fetches only what is missing.
 * Emits 'job' with every state change and, throttled, with progress.
 */
export class JobQueue extends EventEmitter<{ job: [JobStatus] }> {
  private readonly active = new Map<string, Active>();
  private readonly now: () => number;
  private stopping = false;

  constructor(private readonly state: PrefetchState, private readonly runner: JobRunner, private readonly options: JobQueueOptions) {
    super();
    this.now = options.now ?? Date.now;
  }

  /** Jobs Layover was running when it stopped go back to the queue. */
  start(): void {
    for (const record of this.state.jobs.values()) {
      if (record.status.state === 'planning' || record.status.state === 'running') this.setState(record, 'queued');
    }
    void this.state.saveNow();
    this.pump();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const active of this.active.values()) active.controller.abort(new JobInterruption('stopping'));
    await Promise.all([...this.active.values()].map((active) => active.done));
    await this.state.saveNow();
  }

  add(spec: JobSpec): JobStatus {
    const status: JobStatus = {
      id: randomUUID(), registry: spec.registry, repository: spec.repository, tags: [], state: 'queued',
      bytesDone: 0, bytesTotal: 0, blobsDone: 0, blobsTotal: 0, bytesPerSecond: 0, createdAt: this.now(),
      ...(spec.ruleId ? { ruleId: spec.ruleId } : {}),
    };
    const record = { spec, status };
    this.state.jobs.set(status.id, record);
    this.changed(record);
    this.pump();
    return { ...record.status };
  }

  /** A job that failed without running (a rule whose repositories could not be listed), so the failure shows where jobs do. */
  addFailed(spec: JobSpec, error: string): JobStatus {
    const status = this.add(spec);
    const record = this.require(status.id);
    this.finish(record, 'failed', error);
    return { ...record.status };
  }

  list(): JobStatus[] {
    return [...this.state.jobs.values()].map((record) => ({ ...record.status })).sort((a, b) => b.createdAt - a.createdAt);
  }

  get(id: string): JobStatus {
    return { ...this.require(id).status };
  }

  pause(id: string): JobStatus {
    const record = this.require(id);
    if (isFinished(record.status)) throw new PrefetchError(`job ${id} is ${record.status.state}: only a queued or running job can be paused`, 409, 'JOB_FINISHED');
    this.interrupt(record, 'paused');
    this.setState(record, 'paused');
    return { ...record.status };
  }

  /** Resumes a paused job, or retries a failed one: it is planned again and fetches only what is missing. */
  resume(id: string): JobStatus {
    const record = this.require(id);
    if (record.status.state !== 'paused' && record.status.state !== 'failed') {
      throw new PrefetchError(`job ${id} is ${record.status.state}: only a paused or failed job can be resumed`, 409, 'JOB_NOT_PAUSED');
    }
    delete record.status.error;
    delete record.status.finishedAt;
    this.setState(record, 'queued');
    this.pump();
    return { ...record.status };
  }

  cancel(id: string): JobStatus {
    const record = this.require(id);
    if (isFinished(record.status)) return { ...record.status };
    this.interrupt(record, 'cancelled');
    this.finish(record, 'cancelled');
    return { ...record.status };
  }

  /** Starts what may run now and sends back to the queue what may not (a window closed, prefetch paused). */
  pump(): void {
    if (this.stopping) return;
    for (const [id, active] of this.active) {
      const record = this.state.jobs.get(id);
      if (record && !this.options.mayRun(record)) active.controller.abort(new JobInterruption('waiting'));
    }
    const waiting = [...this.state.jobs.values()]
      .filter((record) => record.status.state === 'queued' && !this.active.has(record.status.id) && this.options.mayRun(record))
      .sort((a, b) => a.status.createdAt - b.status.createdAt);
    for (const record of waiting.slice(0, Math.max(0, this.options.concurrency - this.active.size))) this.launch(record);
  }

  private launch(record: JobRecord): void {
    const controller = new AbortController();
    const active: Active = { controller, done: Promise.resolve(), samples: [], lastEvent: 0 };
    this.active.set(record.status.id, active);
    active.done = this.runner(this.runningJob(record, active))
      .then(
        () => {
          if (!controller.signal.aborted) this.finish(record, 'done');
        },
        (error: unknown) => this.settleFailure(record, controller.signal, error),
      )
      .finally(() => {
        this.active.delete(record.status.id);
        record.status.bytesPerSecond = 0;
        delete record.status.etaSeconds;
        this.pump();
      });
  }

  private runningJob(record: JobRecord, active: Active): RunningJob {
    return {
      record,
      signal: active.controller.signal,
      update: (patch) => {
        const stateChanged = patch.state !== undefined && patch.state !== record.status.state;
        Object.assign(record.status, patch);
        if (stateChanged) this.changed(record);
        else this.progressed(record, active);
      },
      addBytes: (bytes, { transferred } = { transferred: true }) => {
        record.status.bytesDone += bytes;
        if (transferred && bytes > 0) active.samples.push({ at: this.now(), bytes });
        this.measure(record, active);
        this.progressed(record, active);
      },
    };
  }

  /** An interrupted job has already been given its new state by whoever interrupted it; anything else failed. */
  private settleFailure(record: JobRecord, signal: AbortSignal, error: unknown): void {
    const interruption = signal.aborted ? (signal.reason as JobInterruption) : undefined;
    if (interruption?.reason === 'waiting' || interruption?.reason === 'stopping') this.setState(record, 'queued');
    else if (!interruption) this.finish(record, 'failed', explainFailure(error));
  }

  private measure(record: JobRecord, active: Active): void {
    const now = this.now();
    while (active.samples.length > 0 && now - active.samples[0]!.at > RATE_WINDOW_MS) active.samples.shift();
    const first = active.samples[0];
    const span = first ? Math.max(now - first.at, 1_000) : 0;
    const rate = span > 0 ? (active.samples.reduce((sum, sample) => sum + sample.bytes, 0) / span) * 1000 : 0;
    record.status.bytesPerSecond = Math.round(rate);
    const left = Math.max(0, record.status.bytesTotal - record.status.bytesDone);
    if (rate > 0) record.status.etaSeconds = Math.ceil(left / rate);
    else delete record.status.etaSeconds;
  }

  private interrupt(record: JobRecord, reason: JobInterruption['reason']): void {
    this.active.get(record.status.id)?.controller.abort(new JobInterruption(reason));
  }

  private finish(record: JobRecord, state: 'done' | 'failed' | 'cancelled', error?: string): void {
    record.status.finishedAt = this.now();
    if (error) record.status.error = error;
    this.setState(record, state);
  }

  private setState(record: JobRecord, state: JobState): void {
    record.status.state = state;
    this.changed(record);
  }

  private changed(record: JobRecord): void {
    void this.state.saveNow();
    this.emit('job', { ...record.status });
  }

  private progressed(record: JobRecord, active: Active): void {
    this.state.saveSoon();
    const now = this.now();
    if (now - active.lastEvent < PROGRESS_EVENT_INTERVAL_MS) return;
    active.lastEvent = now;
    this.emit('job', { ...record.status });
  }

  private require(id: string): JobRecord {
    const record = this.state.jobs.get(id);
    if (!record) throw new PrefetchError(`no prefetch job ${id}`, 404, 'NOT_FOUND');
    return record;
  }
}
