import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobStatus } from '../api/types.js';
import { JobInterruption } from './failures.js';
import { JobQueue, type RunningJob } from './job-queue.js';
import { PrefetchState, type JobSpec } from './prefetch-state.js';

const SPEC: JobSpec = { registry: 'docker.io', repository: 'library/app', selector: { kind: 'exact', tags: ['1'] }, platforms: 'host' };

/** A runner the test drives: each job waits until the test finishes or fails it, or until it is interrupted. */
function controlledRunner() {
  const running = new Map<string, { job: RunningJob; finish: () => void; fail: (error: Error) => void }>();
  const runner = (job: RunningJob) => new Promise<void>((resolve, reject) => {
    job.update({ state: 'running' });
    running.set(job.record.status.id, { job, finish: resolve, fail: reject });
    job.signal.addEventListener('abort', () => reject(job.signal.reason), { once: true });
  });
  return { runner, running };
}

async function withState(run: (dir: string, state: PrefetchState) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'layover-queue-'));
  try {
    const state = new PrefetchState(dir);
    await state.load();
    await run(dir, state);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const stateOf = (queue: JobQueue, job: JobStatus) => queue.get(job.id).state;

test('a concurrency limit; pause frees a slot, resume queues again, cancel ends it', async () => {
  await withState(async (_dir, state) => {
    const { runner, running } = controlledRunner();
    const queue = new JobQueue(state, runner, { concurrency: 2, mayRun: () => true });
    const [a, b, c] = [queue.add(SPEC), queue.add(SPEC), queue.add(SPEC)];
    await settle();
    assert.deepEqual([a, b, c].map((job) => stateOf(queue, job)), ['running', 'running', 'queued']);

    assert.equal(queue.pause(a.id).state, 'paused');
    await settle();
    assert.equal(stateOf(queue, c), 'running', 'the paused job gave its slot to the next');
    assert.ok(running.get(a.id)!.job.signal.reason instanceof JobInterruption);

    queue.resume(a.id);
    assert.equal(stateOf(queue, a), 'queued');
    running.get(b.id)!.finish();
    await settle();
    assert.equal(stateOf(queue, b), 'done');
    assert.equal(stateOf(queue, a), 'running');

    const cancelled = queue.cancel(c.id);
    assert.equal(cancelled.state, 'cancelled');
    assert.ok(cancelled.finishedAt);
    assert.throws(() => queue.resume(c.id), /only a paused or failed job can be resumed/);
    running.get(a.id)!.fail(new Error('upstream 127.0.0.1:5000 answered HTTP 500 for blob x'));
    await settle();
    assert.equal(queue.get(a.id).state, 'failed');
    assert.equal(queue.get(a.id).error, 'upstream 127.0.0.1:5000 answered HTTP 500 for blob x');
    await queue.stop();
  });
});

test('a job outside its window (or with prefetch paused) waits queued, and runs when it may', async () => {
  await withState(async (_dir, state) => {
    const { runner } = controlledRunner();
    let open = true;
    const queue = new JobQueue(state, runner, { concurrency: 1, mayRun: () => open });
    const job = queue.add(SPEC);
    await settle();
    assert.equal(stateOf(queue, job), 'running');
    open = false;
    queue.pump();
    await settle();
    assert.equal(stateOf(queue, job), 'queued', 'interrupted and back in the queue, not failed');
    open = true;
    queue.pump();
    await settle();
    assert.equal(stateOf(queue, job), 'running');
    await queue.stop();
  });
});

test('a job running when Layover stopped (or was killed) is queued again at the next start', async () => {
  await withState(async (dir, state) => {
    const { runner } = controlledRunner();
    const first = new JobQueue(state, runner, { concurrency: 1, mayRun: () => true });
    const job = first.add(SPEC);
    await settle();
    await state.saveNow(); // what a kill -9 leaves: the file as of the last save, with the job running
    const reloaded = new PrefetchState(dir);
    await reloaded.load();
    assert.equal(reloaded.jobs.get(job.id)?.status.state, 'running');
    const second = controlledRunner();
    const queue = new JobQueue(reloaded, second.runner, { concurrency: 1, mayRun: () => true });
    queue.start();
    await settle();
    assert.ok(second.running.has(job.id), 'the job runs again');
    await queue.stop();
    await first.stop();
  });
});

test('progress: rate over the last seconds and the time left', async () => {
  await withState(async (_dir, state) => {
    let now = 1_000_000;
    const { runner, running } = controlledRunner();
    const queue = new JobQueue(state, runner, { concurrency: 1, mayRun: () => true, now: () => now });
    const events: JobStatus[] = [];
    queue.on('job', (status) => events.push(status));
    const job = queue.add(SPEC);
    await settle();
    const handle = running.get(job.id)!.job;
    handle.update({ bytesTotal: 10_000_000, bytesDone: 1_000_000 });
    for (let second = 0; second < 4; second++) {
      now += 1000;
      handle.addBytes(500_000);
    }
    const status = queue.get(job.id);
    assert.equal(status.bytesDone, 3_000_000);
    assert.equal(status.bytesPerSecond, Math.round((500_000 * 4) / 3), 'four samples over three seconds');
    assert.equal(status.etaSeconds, Math.ceil(7_000_000 / (2_000_000 / 3)));
    assert.ok(events.length >= 3, 'state changes and throttled progress are events');
    await queue.stop();
  });
});

test('a saved state that is not JSON is moved aside, not fatal', async () => {
  await withState(async (dir) => {
    await writeFile(join(dir, 'prefetch', 'state.json'), '{ half a fi');
    const state = new PrefetchState(dir);
    assert.match((await state.load())!, /could not read its saved jobs .* kept the old file as .*state\.json\.unreadable-\d+$/);
    assert.equal(state.jobs.size, 0);
    assert.ok((await readdir(join(dir, 'prefetch'))).some((file) => file.startsWith('state.json.unreadable-')));
  });
});
