import { randomUUID } from 'node:crypto';
import { basename, isAbsolute, join, relative } from 'node:path';
import type { LayoverApi } from '../api/layover-api.js';
import type { BundleTask, ExportRequest, ImportRequest } from '../api/types.js';
import { BundleError } from './bundle-format.js';
import type { BundleCore, SelectionVocabulary, TaskProgress } from './bundle-core.js';
import { planOf, resolveExport, writeExport } from './export.js';
import { importBundle } from './import.js';
import { writeInventory } from './inventory.js';

export type BundleApi = Pick<LayoverApi, 'planExport' | 'startExport' | 'writeInventory' | 'startImport' | 'listBundleTasks'>;

export interface BundleServiceOptions {
  vocabulary: SelectionVocabulary;
  /** Keeps these digests from eviction until then (the core's pin book, which the quota reads). */
  pin(digests: string[], until: number, reason: string): Promise<void>;
}

/** Where `layover import -` stages a tar from standard input, under the data folder. */
export const INCOMING_DIR = join('bundles', 'incoming');

/** Finished tasks kept for listBundleTasks. */
const KEPT_TASKS = 20;
/** Progress events at most this often per task; state changes always. */
const EVENT_INTERVAL_MS = 250;

/** Exports and imports as background tasks, followed by `bundle` events and listBundleTasks. */
export function createBundleApi(core: BundleCore, options: BundleServiceOptions): BundleApi {
  const tasks = new Map<string, BundleTask>();

  const run = (kind: BundleTask['kind'], path: string, work: (progress: TaskProgress) => Promise<Partial<BundleTask>>): BundleTask => {
    const task: BundleTask = { id: randomUUID(), kind, state: 'running', path, bytesDone: 0, bytesTotal: 0, blobsDone: 0, blobsTotal: 0, step: 'starting', startedAt: Date.now() };
    tasks.set(task.id, task);
    for (const old of [...tasks.values()].filter((t) => t.state !== 'running').slice(0, Math.max(0, tasks.size - KEPT_TASKS))) tasks.delete(old.id);
    let lastEvent = 0;
    const publish = (force: boolean) => {
      const now = Date.now();
      if (!force && now - lastEvent < EVENT_INTERVAL_MS) return;
      lastEvent = now;
      core.publish?.({ type: 'bundle', task: { ...task } });
    };
    const progress: TaskProgress = (change) => {
      const stepChanged = change.step !== undefined && change.step !== task.step;
      Object.assign(task, change);
      publish(stepChanged);
    };
    publish(true);
    work(progress).then(
      (outcome) => Object.assign(task, outcome, { state: 'done', step: 'done', finishedAt: Date.now() }),
      (error: Error) => Object.assign(task, { state: 'failed', step: 'failed', error: error.message, finishedAt: Date.now() }),
    ).finally(() => publish(true));
    return { ...task };
  };

  return {
    planExport: async (request) => planOf(core, await resolveExport(core, options.vocabulary, checkedExport(request))),
    startExport: async (request) => {
      const checked = checkedExport(request);
      // Selection problems answer the call itself; the writing runs in the background.
      const content = await resolveExport(core, options.vocabulary, checked);
      return run('export', checked.out, async (progress) => ({ exported: await writeExport(core, content, checked.out, progress) }));
    },
    writeInventory: async ({ out }) => writeInventory(core, absolute(out, 'the inventory file')),
    startImport: async (request) => {
      const checked: ImportRequest = { ...request, path: absolute(request.path, 'the bundle') };
      // Only a file staged for this import (stdin, under the data folder) is ever removed: no caller can name another.
      if (checked.removeAfter && relative(join(core.options.dataDir, INCOMING_DIR), checked.path) !== basename(checked.path)) {
        throw new BundleError(`removeAfter is only for a bundle staged in ${join(core.options.dataDir, INCOMING_DIR)}`);
      }
      if (checked.pinDays !== undefined && !(Number.isFinite(checked.pinDays) && checked.pinDays >= 0)) throw new BundleError('pinDays must be a number of days, 0 or more');
      return run('import', checked.path, async (progress) => ({ imported: await importBundle(core, checked, progress, options.pin) }));
    },
    listBundleTasks: async () => [...tasks.values()].map((task) => ({ ...task })),
  };
}

function checkedExport(request: ExportRequest): ExportRequest {
  return { ...request, out: absolute(request.out, 'the bundle'), ...(request.have ? { have: absolute(request.have, 'the --have file') } : {}) };
}

/** Paths are the instance's own: the CLI makes them absolute, so a relative one is a mistake, not a guess. */
function absolute(path: string, what: string): string {
  if (typeof path !== 'string' || !isAbsolute(path)) throw new BundleError(`${what} must be an absolute path, got ${JSON.stringify(path)}`);
  return path;
}
