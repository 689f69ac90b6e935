import type { LayoverApi } from '../api/layover-api.js';
import type { PrefetchRequest } from '../api/types.js';
import type { CacheRoom } from './cache-room.js';
import { PrefetchError } from './failures.js';
import type { JobQueue } from './job-queue.js';
import { resolveRepository, type PrefetchCore } from './prefetch-core.js';
import type { JobSpec, PrefetchState } from './prefetch-state.js';
import type { PrefetchRules } from './rules.js';
import type { Scheduler } from './scheduler.js';
import type { SyncBook } from './sync-book.js';
import { selectorProblem } from './tag-selectors.js';
import type { UpstreamBrowser } from './upstream-browser.js';

/** The prefetch part of LayoverApi. */
export type PrefetchApi = Pick<LayoverApi,
  'listRepositories' | 'listTags' | 'prefetch' | 'listJobs' | 'pauseJob' | 'resumeJob' | 'cancelJob'
  | 'setPrefetchPaused' | 'listRules' | 'saveRule' | 'deleteRule' | 'syncNow' | 'gc'>;

export interface PrefetchApiParts {
  core: PrefetchCore;
  state: PrefetchState;
  queue: JobQueue;
  rules: PrefetchRules;
  sync: SyncBook;
  scheduler: Scheduler;
  cache: CacheRoom;
  browser: UpstreamBrowser;
}

/** The API facade: each call checks its input and hands it to the part that does the work. */
export function createPrefetchApi(parts: PrefetchApiParts): PrefetchApi {
  const { core, state, queue, rules, sync, scheduler, cache, browser } = parts;
  return {
    listRepositories: (args) => browser.listRepositories(args),
    listTags: (args) => sync.listTags(args),
    prefetch: async (request) => queue.add(jobSpecFor(core, request)),
    listJobs: async () => queue.list(),
    pauseJob: async ({ id }) => queue.pause(id),
    resumeJob: async ({ id }) => queue.resume(id),
    cancelJob: async ({ id }) => queue.cancel(id),
    setPrefetchPaused: async ({ paused }) => {
      state.paused = paused;
      await state.saveNow();
      queue.pump();
    },
    listRules: () => rules.list(),
    saveRule: async (rule) => {
      const saved = await rules.save(rule);
      void scheduler.tick(); // a rule to run now runs now
      return saved;
    },
    deleteRule: ({ id }) => rules.delete(id),
    syncNow: ({ ruleId } = {}) => rules.syncNow(ruleId),
    gc: () => cache.gc(),
  };
}

/** A prefetch request as a job, refused with the reason when it cannot run. */
function jobSpecFor(core: PrefetchCore, request: PrefetchRequest): JobSpec {
  const { client, repository } = resolveRepository(core, request.repository, request.registry);
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
