/**
 * Which desktop notifications to show: only things a person acts on.
 * - a prefetch job finished or failed;
 * - an upstream registry became unreachable, or came back;
 * - Docker stopped using the mirror.
 *
 * A pure reducer: (memory, observation) → (memory, notices). The memory holds
 * what the person was last told, so a flapping upstream produces at most one
 * notice per direction per UPSTREAM_QUIET_MS, and the notice that finally
 * shows always matches the current state.
 */
import type { DockerStatus, JobState, JobStatus, LayoverEvent, RegistryStatus, Status } from '../api/types.js';
import { describePullLimit, formatBytes } from '../api/format.js';

/** A dashboard page a notice opens when clicked (the renderer's hash routes). */
export type NoticePage = 'overview' | 'repositories' | 'activity' | 'docker' | 'settings';

export interface Notice {
  /** What the notice is about; a newer notice with the same key replaces the older one on screen. */
  key: string;
  title: string;
  body: string;
  page: NoticePage;
}

export interface NotifyMemory {
  /** Per registry: whether the person was last told it is reachable, and when. */
  upstream: Record<string, { reachable: boolean; toldAt: number }>;
  /** Whether Docker was last seen using Layover (undefined: never seen running). */
  dockerUsesLayover?: boolean;
  /** Last state seen per job, to notify each finish once. Oldest first, bounded. */
  jobs: Array<[string, JobState]>;
  /** Per endpoint URL: the pull-limit state the person was last told of (told once as it gets low, once as it runs out). */
  pullLimits?: Record<string, PullLimitLevel>;
}

type PullLimitLevel = 'ok' | 'low' | 'exhausted';

export type Observation =
  | { kind: 'status'; status: Status; docker?: DockerStatus; now: number }
  | { kind: 'event'; event: LayoverEvent; now: number };

export const UPSTREAM_QUIET_MS = 60_000;
export const JOBS_REMEMBERED = 500;

export function emptyMemory(): NotifyMemory {
  return { upstream: {}, jobs: [] };
}

export function decideNotifications(memory: NotifyMemory, observation: Observation): { memory: NotifyMemory; notices: Notice[] } {
  if (observation.kind === 'event') {
    if (observation.event.type === 'job') return onJob(memory, observation.event.job);
    if (observation.event.type === 'status') return onStatus(memory, observation.event.status, observation.event.status.docker, observation.now);
    return { memory, notices: [] };
  }
  return onStatus(memory, observation.status, observation.docker ?? observation.status.docker, observation.now);
}

const FINISHED: ReadonlySet<JobState> = new Set(['done', 'failed']);

function onJob(memory: NotifyMemory, job: JobStatus): { memory: NotifyMemory; notices: Notice[] } {
  const previous = memory.jobs.find(([id]) => id === job.id)?.[1];
  const jobs = memory.jobs.filter(([id]) => id !== job.id);
  jobs.push([job.id, job.state]);
  const next = { ...memory, jobs: jobs.slice(-JOBS_REMEMBERED) };
  if (previous === job.state || !FINISHED.has(job.state) || (previous !== undefined && FINISHED.has(previous))) {
    return { memory: next, notices: [] };
  }
  const what = jobLabel(job);
  const notice: Notice = job.state === 'done'
    ? {
      key: `job:${job.id}`,
      title: `Prefetched ${what}`,
      body: job.blobsTotal > 0
        ? `${job.blobsDone} of ${job.blobsTotal} blobs, ${formatBytes(job.bytesDone)}: pulls of it now come from the cache.`
        : 'Everything was already in the cache.',
      page: 'repositories',
    }
    : {
      key: `job:${job.id}`,
      title: `Prefetch of ${what} failed`,
      body: job.error ?? 'The job failed without saying why; the Activity page has the details.',
      page: 'activity',
    };
  return { memory: next, notices: [notice] };
}

function jobLabel(job: JobStatus): string {
  const tags = job.tags.length === 0 ? '' : job.tags.length === 1 ? `:${job.tags[0]}` : ` (${job.tags.length} tags)`;
  return `${job.repository}${tags}`;
}

/** The core's own definition (LayoverCore.state): a registry is unreachable when none of its endpoints is healthy or untried. */
export function isReachable(registry: RegistryStatus): boolean {
  return registry.endpoints.some((endpoint) => endpoint.health === 'healthy' || endpoint.health === 'unknown');
}

function onStatus(memory: NotifyMemory, status: Status, docker: DockerStatus | undefined, now: number): { memory: NotifyMemory; notices: Notice[] } {
  const notices: Notice[] = [];
  const upstream: NotifyMemory['upstream'] = {};
  const running = status.state !== 'starting' && status.state !== 'stopped';
  for (const registry of status.registries) {
    const reachable = isReachable(registry);
    const told = memory.upstream[registry.name];
    if (!told || !running) {
      // First sight: the tray icon already shows it; nothing changed to tell.
      upstream[registry.name] = told ?? { reachable, toldAt: Number.NEGATIVE_INFINITY };
      continue;
    }
    if (told.reachable === reachable || now - told.toldAt < UPSTREAM_QUIET_MS) {
      upstream[registry.name] = told;
      continue;
    }
    upstream[registry.name] = { reachable, toldAt: now };
    notices.push(reachable ? upstreamBack(registry) : upstreamLost(registry));
  }

  let dockerUsesLayover = memory.dockerUsesLayover;
  if (docker?.available) {
    if (dockerUsesLayover === true && !docker.usesLayover) {
      notices.push({
        key: 'docker',
        title: 'Docker stopped using Layover',
        body: docker.mirrors.length > 0
          ? `Docker's registry-mirrors is now ${docker.mirrors.join(', ')}: pulls go over the slow link again. Click to configure Docker.`
          : 'Docker has no registry mirror any more: pulls go over the slow link again. Click to configure Docker.',
        page: 'docker',
      });
    }
    dockerUsesLayover = docker.usesLayover;
  }
  const pullLimits = onPullLimits(memory.pullLimits ?? {}, status, notices);
  return { memory: { ...memory, upstream, pullLimits, ...(dockerUsesLayover === undefined ? {} : { dockerUsesLayover }) }, notices };
}

/** Warns before a registry's pull limit (Docker Hub's) runs out, and when it has: once per step, again only after it recovered. */
function onPullLimits(told: Record<string, PullLimitLevel>, status: Status, notices: Notice[]): Record<string, PullLimitLevel> {
  const next: Record<string, PullLimitLevel> = {};
  for (const registry of status.registries) {
    for (const endpoint of registry.endpoints) {
      const limit = endpoint.rateLimit;
      if (!limit) continue;
      const level: PullLimitLevel = limit.exhausted ? 'exhausted' : limit.low ? 'low' : 'ok';
      const before = told[endpoint.url] ?? 'ok';
      next[endpoint.url] = level;
      if (level === before || level === 'ok' || (level === 'low' && before === 'exhausted')) continue;
      notices.push(pullLimitNotice(registry.name, limit, level));
    }
  }
  return next;
}

function pullLimitNotice(registry: string, limit: NonNullable<RegistryStatus['endpoints'][number]['rateLimit']>, level: PullLimitLevel): Notice {
  return level === 'exhausted'
    ? {
      key: `pull-limit:${registry}`,
      title: `${registry} pull limit reached`,
      body: `${registry}: ${describePullLimit(limit)}. Layover serves cached tags as they were and cannot fetch new images until the limit resets.`,
      page: 'overview',
    }
    : {
      key: `pull-limit:${registry}`,
      title: `${registry}: ${describePullLimit(limit)}`,
      body: 'The pull limit is nearly spent. Pulls of cached images do not count; new images and changed tags do. Logging Layover in to the registry raises the limit.',
      page: 'overview',
    };
}

function upstreamLost(registry: RegistryStatus): Notice {
  const lastError = registry.endpoints.map((endpoint) => endpoint.lastError).find(Boolean);
  return {
    key: `upstream:${registry.name}`,
    title: `${registry.name} is unreachable`,
    body: `Layover serves what it has cached; pulls of anything else fail until it is back.${lastError ? ` Last error: ${lastError}` : ''}`,
    page: 'overview',
  };
}

function upstreamBack(registry: RegistryStatus): Notice {
  return {
    key: `upstream:${registry.name}`,
    title: `${registry.name} is reachable again`,
    body: 'Pulls of images that are not cached work again.',
    page: 'overview',
  };
}

/** The mirror could not start: the tray shows it too, but a person who did not look should hear it once. */
export function coreDownNotice(error: string): Notice {
  return { key: 'core', title: 'The Layover mirror is not running', body: `${error}. Choose "Start the mirror again" in the tray menu once it is fixed.`, page: 'overview' };
}

/** Settings were read with something to fix (a password the keystore would not give back). */
export function settingsWarningNotice(warnings: readonly string[]): Notice | undefined {
  if (warnings.length === 0) return undefined;
  return {
    key: 'settings',
    title: warnings.length === 1 ? 'A setting needs your attention' : `${warnings.length} settings need your attention`,
    body: warnings.join(' '),
    page: 'settings',
  };
}
