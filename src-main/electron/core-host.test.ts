/**
 * The desktop's core host against the real core (startHeadless on loopback),
 * with the desktop settings adapter in memory: what the Electron shell does at
 * launch, at Quit and at "Start the mirror again", without Electron.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Settings } from '../api/types.js';
import { defaultSettings } from '../app/settings.js';
import { CoreHost, type CoreHostState } from './core-host.js';
import { DesktopSettingsStore, type SettingsDocument } from './desktop-settings-store.js';

const logger = pino({ level: 'silent' });

function memoryStore(settings?: unknown) {
  const doc = { current: (settings === undefined ? {} : { settings }) as SettingsDocument };
  const store = new DesktopSettingsStore({
    location: '/profile/config.json',
    read: () => structuredClone(doc.current),
    write: (next) => {
      doc.current = structuredClone(next);
    },
  }, {
    verdict: async () => ({ ok: true, keystore: 'test' }),
    encrypt: async (plain) => Buffer.from(plain).toString('base64'),
    decrypt: async (cipher) => ({ plain: Buffer.from(cipher, 'base64').toString(), reEncrypt: false }),
  });
  return { store, doc };
}

function loopbackSettings(listen = '127.0.0.1:0'): Settings {
  // An upstream nobody listens on: the core starts without the network, and nothing here pulls.
  return { ...defaultSettings(), listen, admin: '127.0.0.1:0', registries: [{ name: 'docker.io', endpoints: [{ url: 'http://127.0.0.1:9' }] }] };
}

async function occupiedPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** A loopback port nothing listens on right now (the kernel picked it, then it was let go). */
async function freePort(): Promise<number> {
  const { server, port } = await occupiedPort();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether anything accepts a connection on the port: a closed listener refuses at once. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function withDataDir(work: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'layover-desktop-'));
  try {
    await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('the desktop core starts like layover serve without the admin listener (the window speaks IPC), announces itself for the CLI, and stops cleanly', async () => {
  await withDataDir(async (dataDir) => {
    const admin = await freePort();
    const { store } = memoryStore({ ...loopbackSettings(), admin: `127.0.0.1:${admin}` });
    const host = new CoreHost({ dataDir, logger, settingsStore: store, announce: true });
    const state = await host.start();
    assert.equal(state.running, true);
    if (!state.running) return;
    const status = await state.api.getStatus();
    assert.equal(status.state, 'ready');
    assert.equal(status.dataDir, dataDir);
    const v2 = await fetch(`${status.mirrorUrl}/v2/`);
    assert.equal(v2.status, 200);
    assert.equal(v2.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.equal(state.instance.adminUrl, undefined, 'browserDashboard is off by default: no admin listener');
    assert.equal(state.instance.dashboardLoginUrl(), undefined, 'and no login link to hand out');
    assert.equal(await accepts(admin), false, `nothing listens on the admin address 127.0.0.1:${admin}`);
    const instance = JSON.parse(await readFile(join(dataDir, 'instance.json'), 'utf8')) as { mirrorAddress: string; pid: number };
    assert.equal(instance.mirrorAddress, status.mirrorAddress);
    assert.equal(instance.pid, process.pid);
    assert.equal((await host.ready()).api, state.api);

    await host.stop();
    await assert.rejects(fetch(`${status.mirrorUrl}/v2/`), 'the mirror no longer listens');
    assert.equal(existsSync(join(dataDir, 'instance.json')), false, 'instance.json is removed');
    assert.throws(() => host.current, /not been started/);
  });
});

test('browserDashboard on: the admin listener serves the API and a one-time login link; turning it off and on restarts the core once each time', { timeout: 60_000 }, async () => {
  await withDataDir(async (dataDir) => {
    const admin = await freePort();
    const { store, doc } = memoryStore({ ...loopbackSettings(), admin: `127.0.0.1:${admin}`, browserDashboard: true });
    const restarts: CoreHostState[] = [];
    let restarted: (state: CoreHostState) => void = () => {};
    const nextRestart = () => new Promise<CoreHostState>((resolve) => {
      restarted = resolve;
    });
    const host = new CoreHost({
      dataDir, logger, settingsStore: store, announce: false,
      onRestarted: (state) => {
        restarts.push(state);
        restarted(state);
      },
    });
    const state = await host.start();
    assert.equal(state.running, true);
    if (!state.running) return;
    assert.equal(state.instance.adminUrl, `http://127.0.0.1:${admin}`);
    const call = await fetch(`${state.instance.adminUrl}/api/v1/call/getStatus`, { method: 'POST', body: 'null', headers: { 'content-type': 'application/json', authorization: `Bearer ${state.instance.adminToken}` } });
    assert.equal(call.status, 200, 'the CLI reaches the desktop instance with the admin token');
    const login = new URL(state.instance.dashboardLoginUrl()!);
    assert.equal(login.origin, state.instance.adminUrl);
    assert.match(login.searchParams.get('code') ?? '', /.{16,}/, 'the link carries a one-time code');
    const first = await fetch(login, { redirect: 'manual' });
    assert.match(first.headers.get('set-cookie') ?? '', /HttpOnly/i, 'the code becomes a session cookie');
    assert.equal((await fetch(login, { redirect: 'manual' })).headers.get('set-cookie'), null, 'a code logs in once');

    // A change that is not browserDashboard leaves the core alone.
    await state.api.updateSettings({ tagFreshnessSeconds: 7 });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal((await host.ready()).api, state.api);
    assert.equal(restarts.length, 0);

    // Off: the core restarts without the listener; the mirror keeps its settings and serves again.
    let restart = nextRestart();
    await state.api.updateSettings({ browserDashboard: false });
    const off = await restart;
    assert.equal(off.running, true);
    if (!off.running) return;
    assert.notEqual(off.api, state.api, 'a new core');
    assert.equal(off.instance.adminUrl, undefined);
    assert.equal(off.instance.dashboardLoginUrl(), undefined);
    assert.equal(await accepts(admin), false, 'the admin listener is closed');
    assert.equal((await fetch(`${(await off.api.getStatus()).mirrorUrl}/v2/`)).status, 200);
    assert.equal((doc.current.settings as Settings).browserDashboard, false);
    assert.equal((await off.api.getSettings()).tagFreshnessSeconds, 7);

    // On again, from the new core's API.
    restart = nextRestart();
    await off.api.updateSettings({ browserDashboard: true });
    const on = await restart;
    assert.equal(on.running && on.instance.adminUrl, `http://127.0.0.1:${admin}`);
    assert.equal(await accepts(admin), true);
    assert.equal(restarts.length, 2, 'one restart per change of the setting');
    await host.stop();
    assert.equal(await accepts(admin), false);
  });
});

test('a taken port: the shell keeps a stopped API that says why, accepts a new port, and starts again', async () => {
  await withDataDir(async (dataDir) => {
    const taken = await occupiedPort();
    try {
      const { store, doc } = memoryStore(loopbackSettings(`127.0.0.1:${taken.port}`));
      const host = new CoreHost({ dataDir, logger, settingsStore: store, announce: false, headlessDataDir: join(dataDir, 'no-headless') });
      const state = await host.start();
      assert.equal(state.running, false);
      if (state.running) return;
      assert.equal(state.error, `mirror address 127.0.0.1:${taken.port} is already in use: stop what is listening there or choose another port`);

      const status = await state.api.getStatus();
      assert.equal(status.state, 'problem');
      assert.equal(status.summary, `Mirror not running: ${state.error}`);
      await assert.rejects(state.api.listRepositories({ registry: 'docker.io' }), { code: 'CORE_NOT_RUNNING', message: `The mirror is not running: ${state.error}` });
      const activity = await state.api.getActivity();
      assert.match(activity.events[0]!.message, /already in use/);
      assert.doesNotThrow(() => state.api.subscribe(() => {})());

      const changed = await state.api.updateSettings({ listen: '127.0.0.1:0' });
      assert.equal(changed.listen, '127.0.0.1:0');
      assert.equal((doc.current.settings as Settings).listen, '127.0.0.1:0', 'saved through the desktop store');

      const again = await host.restart();
      assert.equal(again.running, true);
      assert.equal((await again.api.getStatus()).state, 'ready');
      await host.stop();
    } finally {
      taken.server.close();
    }
  });
});

test('a port held by `layover serve` is named as such', async () => {
  await withDataDir(async (dataDir) => {
    const taken = await occupiedPort();
    try {
      const headlessDir = join(dataDir, 'headless');
      await mkdir(headlessDir);
      await writeFile(join(headlessDir, 'instance.json'), JSON.stringify({ pid: process.ppid, mirrorAddress: `127.0.0.1:${taken.port}`, adminUrl: 'http://127.0.0.1:1', dataDir: headlessDir, startedAt: 0 }));
      const { store } = memoryStore(loopbackSettings(`127.0.0.1:${taken.port}`));
      const host = new CoreHost({ dataDir, logger, settingsStore: store, announce: false, headlessDataDir: headlessDir });
      const state = await host.start();
      assert.equal(state.running, false);
      if (!state.running) assert.match(state.error, new RegExp(`\`layover serve\`, pid ${process.ppid}, is running with 127\\.0\\.0\\.1:${taken.port}`));
      await host.stop();
    } finally {
      taken.server.close();
    }
  });
});

test('invalid settings: the reason names the file and the field; settings cannot be edited over them, a connection test still works', async () => {
  await withDataDir(async (dataDir) => {
    const { store } = memoryStore({ ...defaultSettings(), listen: 'nowhere' });
    const host = new CoreHost({ dataDir, logger, settingsStore: store, announce: false });
    const state = await host.start();
    assert.equal(state.running, false);
    if (state.running) return;
    assert.equal(state.error, 'the settings cannot be used: invalid settings in /profile/config.json: listen: expected HOST:PORT');
    await assert.rejects(state.api.getSettings(), { code: 'CORE_NOT_RUNNING' });
    await assert.rejects(state.api.updateSettings({ quotaBytes: 1 }), { code: 'CORE_NOT_RUNNING' });
    const probe = await state.api.testConnection({ url: 'http://127.0.0.1:9' });
    assert.equal(probe.ok, false);
    await host.stop();
  });
});

test('a core that never started never writes its empty tag index over the real one', async () => {
  await withDataDir(async (dataDir) => {
    const index = '{"keep":"this index"}';
    await writeFile(join(dataDir, 'metadata.json'), index);
    const taken = await occupiedPort();
    try {
      const { store } = memoryStore(loopbackSettings(`127.0.0.1:${taken.port}`));
      const host = new CoreHost({ dataDir, logger, settingsStore: store, announce: false, headlessDataDir: join(dataDir, 'none') });
      const state = await host.start();
      assert.equal(state.running, false);
      await state.api.updateSettings({ quotaBytes: 0 });
      await host.stop();
      assert.equal(await readFile(join(dataDir, 'metadata.json'), 'utf8'), index);
    } finally {
      taken.server.close();
    }
  });
});
