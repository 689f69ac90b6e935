import { test } from 'node:test';
import assert from 'node:assert/strict';
import { docker, registry, status, transfer } from './test-fixtures.js';
import { TOOLTIP_MAX, trayAppearance, truncate } from './tray-state.js';

const none = { activeJobs: 0 };

test('ready: the core\'s summary', () => {
  assert.deepEqual(trayAppearance({ ...none, status: status() }), {
    state: 'ready',
    statusLine: 'Mirror ready on 127.0.0.1:5050',
    tooltip: 'Layover: Mirror ready on 127.0.0.1:5050',
  });
  assert.equal(trayAppearance({ ...none, status: status({ summary: '' }) }).statusLine, 'Mirror ready on 127.0.0.1:5050');
});

test('before the first status, and while starting', () => {
  assert.deepEqual(trayAppearance(none), { state: 'ready', statusLine: 'Starting…', tooltip: 'Layover: Starting…' });
  assert.equal(trayAppearance({ ...none, status: status({ state: 'starting' }) }).statusLine, 'Starting…');
});

test('syncing: prefetch transfers or active prefetch jobs; a docker pull alone is not syncing', () => {
  assert.equal(trayAppearance({ ...none, status: status({ transfers: [transfer('pull', 1000)] }) }).state, 'ready');
  const transfers = trayAppearance({ ...none, status: status({ transfers: [transfer('prefetch', 5 * 1024 * 1024)] }) });
  assert.equal(transfers.state, 'syncing');
  assert.equal(transfers.statusLine, 'Syncing: 1 prefetch transfer');
  const jobs = trayAppearance({ activeJobs: 3, status: status() });
  assert.deepEqual([jobs.state, jobs.statusLine], ['syncing', 'Syncing: 3 prefetch jobs']);
});

test('offline: the core says an upstream is unreachable and cached content is served', () => {
  const offline = trayAppearance({ ...none, status: status({ state: 'offline', summary: 'Serving from cache: docker.io unreachable', registries: [registry('docker.io', 'down')] }) });
  assert.deepEqual([offline.state, offline.statusLine], ['offline', 'Serving from cache: docker.io unreachable']);
});

test('paused beats syncing; offline beats paused', () => {
  assert.equal(trayAppearance({ activeJobs: 2, status: status({ prefetchPaused: true, transfers: [transfer('prefetch')] }) }).state, 'paused');
  assert.equal(trayAppearance({ ...none, status: status({ prefetchPaused: true }) }).statusLine, 'Prefetch paused');
  assert.equal(trayAppearance({ ...none, status: status({ state: 'offline', prefetchPaused: true }) }).state, 'offline');
});

test('problem: the mirror is not running, the core reports one, or Docker bypasses the mirror', () => {
  const down = trayAppearance({ ...none, coreError: 'mirror address 127.0.0.1:5050 is already in use: stop what is listening there or choose another port' });
  assert.equal(down.state, 'problem');
  assert.match(down.statusLine, /^Mirror not running: mirror address 127\.0\.0\.1:5050 is already in use/);
  assert.equal(trayAppearance({ ...none, status: status({ state: 'problem', summary: 'Disk full' }) }).statusLine, 'Disk full');
  assert.equal(trayAppearance({ ...none, status: status({ state: 'stopped', summary: '' }) }).statusLine, 'Mirror stopped');
  const bypass = trayAppearance({ ...none, status: status({ state: 'offline' }), docker: docker(false) });
  assert.deepEqual([bypass.state, bypass.statusLine], ['problem', 'Docker is not using Layover: pulls go over the slow link']);
  assert.equal(trayAppearance({ ...none, status: status({ docker: docker(false) }) }).state, 'problem', 'Status.docker counts too');
  assert.equal(trayAppearance({ ...none, status: status(), docker: docker(true) }).state, 'ready');
  assert.equal(trayAppearance({ ...none, status: status(), docker: { available: false, mirrors: [], usesLayover: false } }).state, 'ready', 'no Docker is no problem');
});

test('the tooltip is one line within Windows\'s 127 characters', () => {
  const long = trayAppearance({ ...none, coreError: `the settings cannot be used: ${'x'.repeat(300)}\nsecond line` });
  assert.ok(long.tooltip.length <= TOOLTIP_MAX);
  assert.ok(long.tooltip.endsWith('…'));
  assert.doesNotMatch(long.tooltip, /\n/);
  assert.equal(truncate('  a\n b  ', 10), 'a b');
});
