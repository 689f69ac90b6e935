import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Status } from '../api/types.js';
import {
  coreDownNotice, decideNotifications, emptyMemory, JOBS_REMEMBERED, settingsWarningNotice, UPSTREAM_QUIET_MS, type Notice, type NotifyMemory, type Observation,
} from './notifications.js';
import { docker, job, registry, status } from './test-fixtures.js';

/** Feeds observations in order; returns every notice and the final memory. */
function run(observations: Observation[], memory: NotifyMemory = emptyMemory()): { notices: Notice[]; memory: NotifyMemory } {
  const notices: Notice[] = [];
  for (const observation of observations) {
    const result = decideNotifications(memory, observation);
    memory = result.memory;
    notices.push(...result.notices);
  }
  return { notices, memory };
}

const seen = (s: Status, now: number, d?: ReturnType<typeof docker>): Observation => ({ kind: 'status', status: s, now, ...(d ? { docker: d } : {}) });
const reachable = status({ registries: [registry('docker.io', 'healthy', 'down'), registry('dtr.example.com', 'healthy')] });
const hubDown = status({ state: 'offline', registries: [registry('docker.io', 'down', 'degraded'), registry('dtr.example.com', 'healthy')] });

test('a prefetch job that finishes or fails is told once; cancelling, progress and repeats are not', () => {
  const { notices } = run([
    { kind: 'event', event: { type: 'job', job: job('a', 'running') }, now: 0 },
    { kind: 'event', event: { type: 'job', job: job('a', 'done') }, now: 1 },
    { kind: 'event', event: { type: 'job', job: job('a', 'done') }, now: 2 },
    { kind: 'event', event: { type: 'job', job: job('b', 'queued', { repository: 'org/app', tags: ['1.0', '1.1'] }) }, now: 3 },
    { kind: 'event', event: { type: 'job', job: job('b', 'failed', { repository: 'org/app', tags: ['1.0', '1.1'], error: 'dtr.example.com refused the credentials (HTTP 401)' }) }, now: 4 },
    { kind: 'event', event: { type: 'job', job: job('c', 'running') }, now: 5 },
    { kind: 'event', event: { type: 'job', job: job('c', 'cancelled') }, now: 6 },
  ]);
  assert.deepEqual(notices, [
    { key: 'job:a', title: 'Prefetched library/alpine:3.20', body: '2 of 2 blobs, 3.0 MiB: pulls of it now come from the cache.', page: 'repositories' },
    { key: 'job:b', title: 'Prefetch of org/app (2 tags) failed', body: 'dtr.example.com refused the credentials (HTTP 401)', page: 'activity' },
  ]);
});

test('a job first seen finished is told (it ran between two looks); one that already said done and then failed is not told twice', () => {
  const { notices } = run([
    { kind: 'event', event: { type: 'job', job: job('x', 'done', { blobsTotal: 0, blobsDone: 0, tags: [] }) }, now: 0 },
    { kind: 'event', event: { type: 'job', job: job('x', 'failed') }, now: 1 },
  ]);
  assert.equal(notices.length, 1);
  assert.equal(notices[0]!.title, 'Prefetched library/alpine');
  assert.equal(notices[0]!.body, 'Everything was already in the cache.');
});

test('the job memory is bounded', () => {
  const observations: Observation[] = [];
  for (let i = 0; i < JOBS_REMEMBERED + 50; i += 1) observations.push({ kind: 'event', event: { type: 'job', job: job(`j${i}`, 'running') }, now: i });
  assert.equal(run(observations).memory.jobs.length, JOBS_REMEMBERED);
});

test('an upstream lost and back is told, not the first sight of it', () => {
  const { notices } = run([seen(hubDown, 0), seen(reachable, 1000), seen(hubDown, 1000 + UPSTREAM_QUIET_MS)]);
  assert.deepEqual(notices.map((notice) => notice.title), ['docker.io is reachable again', 'docker.io is unreachable']);
  assert.match(notices[1]!.body, /serves what it has cached.*Last error: connect ECONNREFUSED/);
  assert.equal(notices[1]!.key, 'upstream:docker.io');
});

test('a flapping upstream is told at most once a minute, and the last word matches the state', () => {
  const { notices, memory } = run([
    seen(reachable, 0),
    seen(hubDown, 10_000),
    seen(reachable, 20_000),
    seen(hubDown, 30_000),
    seen(reachable, 40_000),
    seen(hubDown, 50_000),
  ]);
  assert.deepEqual(notices.map((notice) => notice.title), ['docker.io is unreachable'], 'the changes within the quiet minute are held back');
  const later = run([seen(hubDown, 10_000 + UPSTREAM_QUIET_MS)], memory);
  assert.deepEqual(later.notices, [], 'it is down, as last told');
  const back = run([seen(reachable, 10_000 + UPSTREAM_QUIET_MS + 1)], later.memory);
  assert.deepEqual(back.notices.map((notice) => notice.title), ['docker.io is reachable again']);
});

test('an upstream that is still being tried (unknown health) counts as reachable', () => {
  const untried = status({ registries: [registry('docker.io', 'unknown')] });
  assert.deepEqual(run([seen(untried, 0), seen(hubDown, UPSTREAM_QUIET_MS)]).notices.map((n) => n.title), ['docker.io is unreachable']);
});

test('Docker stopped using Layover is told; Docker starting to use it, or going away, is not', () => {
  const { notices } = run([
    seen(reachable, 0, docker(false)),
    seen(reachable, 1, docker(true)),
    seen(reachable, 2, { available: false, mirrors: [], usesLayover: false, error: 'no Docker Engine' }),
    seen(reachable, 3, docker(true)),
    seen(reachable, 4, docker(false, { mirrors: ['https://mirror.gcr.io'] })),
    seen(reachable, 5, docker(false)),
  ]);
  assert.deepEqual(notices, [{
    key: 'docker',
    title: 'Docker stopped using Layover',
    body: "Docker's registry-mirrors is now https://mirror.gcr.io: pulls go over the slow link again. Click to configure Docker.",
    page: 'docker',
  }]);
});

test('Docker seen through Status.docker counts the same', () => {
  const { notices } = run([seen(status({ docker: docker(true) }), 0), seen(status({ docker: docker(false) }), 1)]);
  assert.equal(notices.length, 1);
  assert.match(notices[0]!.body, /no registry mirror any more/);
});

test('a status event is an observation like a poll; other events tell nothing', () => {
  const { notices } = run([
    { kind: 'event', event: { type: 'status', status: reachable }, now: 0 },
    { kind: 'event', event: { type: 'status', status: hubDown }, now: 1 },
    { kind: 'event', event: { type: 'activity', event: { at: 0, level: 'error', message: 'x' } }, now: 2 },
  ]);
  assert.deepEqual(notices.map((n) => n.title), ['docker.io is unreachable']);
});

test('the core could not start; settings with something to fix', () => {
  assert.deepEqual(coreDownNotice('mirror address 127.0.0.1:5050 is already in use'), {
    key: 'core',
    title: 'The Layover mirror is not running',
    body: 'mirror address 127.0.0.1:5050 is already in use. Choose "Start the mirror again" in the tray menu once it is fixed.',
    page: 'overview',
  });
  assert.equal(settingsWarningNotice([]), undefined);
  assert.equal(settingsWarningNotice(['a.', 'b.'])!.title, '2 settings need your attention');
});
