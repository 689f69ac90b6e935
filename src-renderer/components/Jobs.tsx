import type { JobStatus } from '../../src-main/api/types.js';
import { useApi } from '../app/api-context.js';
import { formatBytes, formatDuration, formatRate } from '../lib/format.js';
import { useAction } from '../lib/use-async.js';
import { JobStateBadge } from './badges.js';
import { ActionError, ProgressBar, RelativeTime } from './ui.js';

export const ACTIVE_JOB_STATES: ReadonlySet<JobStatus['state']> = new Set(['queued', 'planning', 'running', 'paused']);

export function upsertJob(jobs: JobStatus[], job: JobStatus): JobStatus[] {
  const index = jobs.findIndex((j) => j.id === job.id);
  if (index === -1) return [job, ...jobs];
  const next = [...jobs];
  next[index] = job;
  return next;
}

/** Active jobs first (newest first), then finished ones (latest finished first). */
export function sortJobs(jobs: JobStatus[]): JobStatus[] {
  return [...jobs].sort((a, b) => {
    const activeA = ACTIVE_JOB_STATES.has(a.state) ? 0 : 1;
    const activeB = ACTIVE_JOB_STATES.has(b.state) ? 0 : 1;
    if (activeA !== activeB) return activeA - activeB;
    return (b.finishedAt ?? b.createdAt) - (a.finishedAt ?? a.createdAt);
  });
}

export function jobTitle(job: JobStatus): string {
  return job.tags.length ? `${job.repository}:${job.tags.join(', ')}` : job.repository;
}

export function JobRow({ job, onChange, compact }: { job: JobStatus; onChange?: (job: JobStatus) => void; compact?: boolean }) {
  const api = useApi();
  const action = useAction(async (kind: 'pause' | 'resume' | 'cancel') => {
    const next = kind === 'pause' ? await api.pauseJob({ id: job.id }) : kind === 'resume' ? await api.resumeJob({ id: job.id }) : await api.cancelJob({ id: job.id });
    onChange?.(next);
  });
  const active = ACTIVE_JOB_STATES.has(job.state);
  const title = jobTitle(job);
  const canPause = job.state === 'running' || job.state === 'queued' || job.state === 'planning';
  return (
    <li className="job" data-testid="job-row" data-job-id={job.id} data-repository={job.repository} data-state={job.state}>
      <div className="job-head">
        <span className="job-title">
          <strong>{title}</strong>
          <span className="muted small">{job.registry}</span>
        </span>
        <JobStateBadge state={job.state} />
      </div>
      {active || job.state === 'done' ? (
        <ProgressBar
          value={job.bytesDone}
          {...(job.bytesTotal > 0 ? { max: job.bytesTotal } : job.state === 'done' ? { max: 1, value: 1 } : {})}
          label={`Progress of ${title}`}
          tone={job.state === 'paused' ? 'warn' : job.state === 'done' ? 'good' : undefined}
          testId="job-progress"
        />
      ) : null}
      <div className="job-numbers muted">
        {job.bytesTotal > 0 ? (
          <span data-testid="job-bytes">
            {formatBytes(job.bytesDone)} of {formatBytes(job.bytesTotal)}
          </span>
        ) : active ? (
          <span>{job.state === 'queued' ? 'Waiting for its turn' : 'Working out what to fetch'}</span>
        ) : null}
        {job.blobsTotal > 0 ? (
          <span>
            {job.blobsDone}/{job.blobsTotal} blobs
          </span>
        ) : null}
        {job.state === 'running' && job.bytesPerSecond > 0 ? <span>{formatRate(job.bytesPerSecond)}</span> : null}
        {job.state === 'running' && job.etaSeconds !== undefined ? <span>{formatDuration(job.etaSeconds)} left</span> : null}
        {!compact ? (
          <span>
            {job.finishedAt ? 'finished ' : 'started '}
            <RelativeTime at={job.finishedAt ?? job.createdAt} />
          </span>
        ) : null}
      </div>
      {job.error ? (
        <p className="job-error" data-testid="job-error">
          {job.error}
        </p>
      ) : null}
      {active ? (
        <div className="job-actions">
          {canPause ? (
            <button type="button" className="button button-small" disabled={action.busy} onClick={() => void action.run('pause')} aria-label={`Pause ${title}`}>
              Pause
            </button>
          ) : null}
          {job.state === 'paused' ? (
            <button type="button" className="button button-small" disabled={action.busy} onClick={() => void action.run('resume')} aria-label={`Resume ${title}`}>
              Resume
            </button>
          ) : null}
          <button type="button" className="button button-small button-danger-quiet" disabled={action.busy} onClick={() => void action.run('cancel')} aria-label={`Cancel ${title}`}>
            Cancel
          </button>
        </div>
      ) : null}
      <ActionError error={action.error} />
    </li>
  );
}
