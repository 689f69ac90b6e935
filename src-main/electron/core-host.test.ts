/**
 * The desktop's core host against the real core (startHeadless on loopback),
 * with the desktop settings adapter in memory: what the Electron shell does at
 * launch, at Quit and at "Start the mirror again", without Electron.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Settings } from '../api/types.js';
import { defaultSettings } from '../app/settings.js';
import { CoreHost } from './core-host.js';
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

async function withDataDir(work: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'layover-desktop-'));
  try {
    await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('the desktop core starts like layover serve, announces itself for the CLI, and stops cleanly', async () => {
  await withDataDir(async (dataDir) => {
    const { store } = memoryStore(loopbackSettings());
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
    const admin = await fetch(`${state.instance.adminUrl}/api/v1/call/getStatus`, { method: 'POST', body: 'null', headers: { 'content-type': 'application/json' } });
    assert.equal(admin.status, 200, 'the admin listener serves the same API to the browser dashboard and the CLI');
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
