import type { EndpointStatus, JobState, MirrorState, RequestRecord, SyncState } from '../../src-main/api/types.js';
import { Badge, type Tone } from './ui.js';

const MIRROR: Record<MirrorState, [Tone, string]> = {
  starting: ['busy', 'Starting'],
  ready: ['good', 'Ready'],
  offline: ['warn', 'Upstream offline'],
  problem: ['bad', 'Problem'],
  stopped: ['neutral', 'Stopped'],
};

/** data-state carries the raw state for tests: [data-testid=mirror-state][data-state=offline]. */
export function MirrorStateBadge({ state, testId = 'mirror-state' }: { state: MirrorState; testId?: string }) {
  const [tone, label] = MIRROR[state];
  return (
    <span data-testid={testId} data-state={state} className="state-badge-wrap">
      <Badge tone={tone}>{label}</Badge>
    </span>
  );
}

const SYNC: Record<SyncState, [Tone, string]> = {
  'in-sync': ['good', 'In sync'],
  stale: ['warn', 'Stale'],
  missing: ['neutral', 'Missing'],
  syncing: ['busy', 'Syncing'],
  failed: ['bad', 'Failed'],
};

export function SyncBadge({ state, title }: { state: SyncState; title?: string }) {
  const [tone, label] = SYNC[state];
  return (
    <span data-testid="sync-state" data-state={state} className="state-badge-wrap">
      <Badge tone={tone} {...(title ? { title } : {})}>{label}</Badge>
    </span>
  );
}

const JOB: Record<JobState, [Tone, string]> = {
  queued: ['neutral', 'Queued'],
  planning: ['busy', 'Planning'],
  running: ['busy', 'Running'],
  paused: ['warn', 'Paused'],
  done: ['good', 'Done'],
  failed: ['bad', 'Failed'],
  cancelled: ['neutral', 'Cancelled'],
};

export function JobStateBadge({ state }: { state: JobState }) {
  const [tone, label] = JOB[state];
  return (
    <span data-testid="job-state" data-state={state} className="state-badge-wrap">
      <Badge tone={tone}>{label}</Badge>
    </span>
  );
}

const HEALTH: Record<EndpointStatus['health'], [Tone, string]> = {
  healthy: ['good', 'Healthy'],
  degraded: ['warn', 'Degraded'],
  down: ['bad', 'Down'],
  unknown: ['neutral', 'Not checked yet'],
};

export function HealthBadge({ health }: { health: EndpointStatus['health'] }) {
  const [tone, label] = HEALTH[health];
  return (
    <span data-testid="endpoint-health" data-state={health} className="state-badge-wrap">
      <Badge tone={tone}>{label}</Badge>
    </span>
  );
}

const CACHE: Record<NonNullable<RequestRecord['cache']>, [Tone, string, string]> = {
  hit: ['good', 'Hit', 'Served from the cache'],
  miss: ['info', 'Miss', 'Fetched from the upstream'],
  stale: ['warn', 'Stale', 'Cached tag served because the upstream failed'],
  revalidated: ['good', 'Revalidated', 'Cached tag confirmed with the upstream'],
};

export function CacheBadge({ cache }: { cache?: RequestRecord['cache'] }) {
  if (!cache) return <span className="muted">—</span>;
  const [tone, label, title] = CACHE[cache];
  return (
    <span data-testid="cache-result" data-state={cache} className="state-badge-wrap">
      <Badge tone={tone} title={title}>{label}</Badge>
    </span>
  );
}
