/**
 * The desktop app end to end, in a real Electron driven by Playwright:
 *
 *   node --import tsx --test e2e/electron.spec.ts
 *
 * It runs the built app (dist/main/electron/main.js, dist/electron/preload.cjs,
 * dist/renderer/) with a profile, a per-user data folder, ports and $HOME of
 * its own, and checks what the unit tests cannot: the core starts on launch
 * and serves /v2 from the per-user data folder (the one `layover` on the
 * command line looks in), not the Electron profile; the window has no Node,
 * exactly LayoverApi as window.layover, a CSP that holds, no way to navigate
 * or open windows or reach the network; live events arrive over IPC; settings
 * land in electron-store without the password; the admin HTTP listener runs
 * only while the setting browserDashboard is on; closing hides to the tray; a
 * second launch shows the first; Quit stops the mirror and removes
 * instance.json.
 *
 * It needs an Electron binary: node_modules/electron/dist (electron's install
 * script) or ELECTRON_OVERRIDE_DIST_PATH (a folder holding an Electron 45
 * build). On Linux without DISPLAY it starts Xvfb itself when `Xvfb` is on the
 * PATH (Debian's xvfb). Where either is missing the test is skipped and prints
 * exactly why; it never passes without running.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron as electron, type ElectronApplication } from 'playwright-core';
import { LAYOVER_METHODS } from '../src-main/api/layover-api.js';
import type { LayoverEvent, Status } from '../src-main/api/types.js';
import { defaultSettings } from '../src-main/app/settings.js';
import { findDisplay, findElectronBinary, freePort, portClosed, type Display } from './electron-binary.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const outputDir = join(root, 'e2e', 'output');
const binary = findElectronBinary(root);
const display = binary.ok ? await findDisplay() : undefined;
const skip = !binary.ok ? binary.reason : display && !display.ok ? display.reason : undefined;
if (skip) console.log(`SKIP e2e/electron.spec.ts: ${skip}`);

declare global {
  interface Window {
    layover?: import('../src-main/api/layover-api.js').LayoverApi;
  }
}

test('the desktop app: core on launch, a locked-down dashboard over IPC, hide to tray, single instance, clean quit', { skip: skip ?? false, timeout: 180_000 }, async () => {
  if (!binary.ok || !display?.ok) return;
  for (const built of ['dist/main/electron/main.js', 'dist/electron/preload.cjs', 'dist/renderer/index.html']) {
    assert.ok(existsSync(join(root, built)), `${built} is missing: build the desktop app first (tsc -p tsconfig.json, tsc -p tsconfig.electron.json, the preload bundle, vite build)`);
  }
  const work = await mkdtemp(join(tmpdir(), 'layover-electron-'));
  const profile = join(work, 'profile');
  const home = join(work, 'home');
  const configHome = join(work, 'config');
  const { env: dataEnv, dataDir } = perUserDataFolder(work, home);
  await Promise.all([mkdir(profile), mkdir(home), mkdir(configHome)]);
  const [listen, admin, nobody] = [await freePort(), await freePort(), await freePort()];
  // electron-store's document as the shell reads it; the upstream is a loopback port nobody listens on.
  await writeFile(join(profile, 'config.json'), JSON.stringify({
    settings: {
      ...defaultSettings(),
      listen: `127.0.0.1:${listen}`,
      admin: `127.0.0.1:${admin}`,
      registries: [{ name: 'docker.io', endpoints: [{ url: `http://127.0.0.1:${nobody}` }] }],
      firstRunDone: true,
    },
  }));
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    ...display.value.env,
    LAYOVER_USER_DATA_DIR: profile,
    HOME: home,
    XDG_CONFIG_HOME: configHome,
    ...dataEnv,
    ELECTRON_ENABLE_LOGGING: '1',
  };
  delete env.ELECTRON_RUN_AS_NODE;
  const args = [
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
    '--disable-gpu',
    // No keyring prompts on a developer's desktop, and the same answer everywhere: basic_text, which Layover refuses for passwords.
    '--password-store=basic',
    root,
  ];

  let app: ElectronApplication | undefined;
  try {
    app = await electron.launch({ executablePath: binary.value, args, env, timeout: 60_000 });
    const page = await app.firstWindow();
    await page.waitForLoadState('domcontentloaded');
    assert.match(page.url(), /^file:\/\/.*\/dist\/renderer\/index\.html/);

    // The core started on launch and serves the registry API.
    const v2 = await fetch(`http://127.0.0.1:${listen}/v2/`);
    assert.equal(v2.status, 200);
    assert.equal(v2.headers.get('docker-distribution-api-version'), 'registry/2.0');

    // No Node in the page, no ipcRenderer, and exactly LayoverApi as window.layover (webPreferences themselves: security-policy.test.ts).
    const globals = await page.evaluate(() => ({
      require: typeof (globalThis as Record<string, unknown>).require,
      process: typeof (globalThis as Record<string, unknown>).process,
      module: typeof (globalThis as Record<string, unknown>).module,
      ipcRenderer: typeof (globalThis as Record<string, unknown>).ipcRenderer,
      layover: Object.keys(window.layover ?? {}).sort(),
    }));
    assert.deepEqual(globals, { require: 'undefined', process: 'undefined', module: 'undefined', ipcRenderer: 'undefined', layover: [...LAYOVER_METHODS, 'subscribe'].sort() });
    const status = await page.evaluate(() => window.layover!.getStatus()) as Status;
    assert.equal(status.state, 'ready');
    assert.equal(status.mirrorAddress, `127.0.0.1:${listen}`);
    // The per-user data folder, where the CLI finds the tray's mirror; the profile holds only electron-store's settings.
    assert.equal(status.dataDir, dataDir);
    assert.ok(existsSync(join(dataDir, 'instance.json')), 'announced for the CLI');
    assert.equal(existsSync(join(profile, 'data')), false, 'nothing cached under the Electron profile');
    if (process.platform !== 'win32') assert.equal((await stat(dataDir)).mode & 0o777, 0o700, 'the data folder is the owner\'s alone');

    // The CSP holds: an injected inline script does not run; the network is out of reach.
    const inline = await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = '(window).__injected = true';
      document.head.append(script);
      return (window as unknown as { __injected?: boolean }).__injected ?? false;
    });
    assert.equal(inline, false, 'inline script blocked');
    const remote = await page.evaluate(async (url) => {
      try {
        await fetch(url);
        return 'loaded';
      } catch {
        return 'blocked';
      }
    }, `http://127.0.0.1:${listen}/v2/`);
    assert.equal(remote, 'blocked', 'not even the mirror, which is listening: the dashboard speaks IPC only');

    // No new windows, no navigation away.
    assert.equal(await page.evaluate(() => window.open('https://example.com/') === null), true);
    await page.evaluate(() => {
      window.location.href = 'https://example.com/';
    });
    await page.waitForTimeout(500);
    assert.match(page.url(), /^file:\/\/.*\/dist\/renderer\/index\.html/);
    assert.equal(app.windows().length, 1);

    // Live events reach the page over IPC: a pull through the mirror shows as a request.
    const event = page.evaluate(() => new Promise<LayoverEvent>((resolve) => {
      const off = window.layover!.subscribe((e) => {
        if (e.type === 'request') {
          off();
          resolve(e);
        }
      });
    }));
    // Answered after the subscription, which waited for the same core, is connected.
    await page.evaluate(() => window.layover!.getStatus());
    await fetch(`http://127.0.0.1:${listen}/v2/library/alpine/manifests/latest`).then((response) => response.arrayBuffer());
    const request = await Promise.race([event, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no request event within 10 s')), 10_000))]);
    assert.equal(request.type, 'request');

    // Settings go to electron-store; a password is refused on basic_text, saying why, and never written.
    await page.evaluate(() => window.layover!.updateSettings({ tagFreshnessSeconds: 123 }));
    const stored = JSON.parse(await readFile(join(profile, 'config.json'), 'utf8')) as { settings: { tagFreshnessSeconds: number } };
    assert.equal(stored.settings.tagFreshnessSeconds, 123);
    const refusal = await page.evaluate(async (url) => {
      try {
        await window.layover!.updateSettings({ registries: [{ name: 'docker.io', endpoints: [{ url, username: 'ci', password: 'pa55-e2e-secret' }] }] });
        return 'saved';
      } catch (error) {
        return (error as Error).message;
      }
    }, `http://127.0.0.1:${nobody}`);
    assert.match(refusal, /will not store the password.*basic_text/s);
    assert.doesNotMatch(await readFile(join(profile, 'config.json'), 'utf8'), /pa55-e2e-secret/);

    // The admin HTTP listener (browser dashboard, CLI) runs only while browserDashboard is on: the window never needs it.
    assert.equal(await portClosed(admin), true, 'no admin listener by default');
    await page.evaluate(() => window.layover!.updateSettings({ browserDashboard: true }));
    await waitFor(async () => !(await portClosed(admin)), 'the admin listener to start');
    const unauthenticated = await fetch(`http://127.0.0.1:${admin}/api/v1/call/getStatus`, { method: 'POST', body: 'null', headers: { 'content-type': 'application/json' } });
    assert.equal(unauthenticated.status, 401, 'it asks for a credential');
    assert.equal((await page.evaluate(() => window.layover!.getStatus())).state, 'ready', 'the window follows the restarted core');
    await page.evaluate(() => window.layover!.updateSettings({ browserDashboard: false }));
    await waitFor(() => portClosed(admin), 'the admin listener to stop');

    // Start at login on Linux: an XDG autostart entry in this test's own config home.
    if (process.platform === 'linux') {
      await page.evaluate(() => window.layover!.updateSettings({ startAtLogin: true }));
      const entryPath = join(configHome, 'autostart', 'layover.desktop');
      await waitFor(() => existsSync(entryPath), 'the autostart entry');
      assert.match(await readFile(entryPath, 'utf8'), /^Exec=.* --hidden$/m);
      await page.evaluate(() => window.layover!.updateSettings({ startAtLogin: false }));
      await waitFor(() => !existsSync(entryPath), 'the autostart entry to go');
    }

    await mkdir(outputDir, { recursive: true });
    await page.screenshot({ path: join(outputDir, 'electron-dashboard.png') });

    // Closing the window hides it; the app and the mirror go on.
    await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]!.close());
    await waitFor(async () => !(await app!.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]!.isVisible())), 'the window to hide');
    assert.equal((await fetch(`http://127.0.0.1:${listen}/v2/`)).status, 200);

    // A second launch with the same profile shows the first one's window and exits.
    const second = spawn(binary.value, args, { env, stdio: 'ignore' });
    const secondExit = await new Promise<number | null>((resolve) => second.once('exit', resolve));
    assert.equal(secondExit, 0);
    await waitFor(async () => app!.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]!.isVisible()), 'the first instance to show its window');

    // Quit stops the mirror, flushes, removes instance.json, and exits 0.
    assert.ok(existsSync(join(dataDir, 'instance.json')));
    const exited = new Promise<number | null>((resolve) => app!.process().once('exit', (code) => resolve(code)));
    await app.evaluate(({ app: electronApp }) => {
      setTimeout(() => electronApp.quit(), 0);
    });
    assert.equal(await exited, 0);
    app = undefined;
    assert.equal(await portClosed(listen), true, 'the mirror no longer listens');
    assert.equal(existsSync(join(dataDir, 'instance.json')), false);
  } finally {
    await app?.close().catch(() => {});
    (display.value as Display).stop();
    await rm(work, { recursive: true, force: true });
  }
});

/**
 * The per-user data folder the app will use (app/instance.ts defaultDataDir,
 * env-paths 'layover'), moved into the test's own folder through the
 * variables env-paths reads, so no run touches the real user's cache.
 */
function perUserDataFolder(work: string, home: string): { env: Record<string, string>; dataDir: string } {
  if (process.platform === 'darwin') return { env: {}, dataDir: join(home, 'Library', 'Application Support', 'layover') };
  if (process.platform === 'win32') {
    const local = join(work, 'local-app-data');
    return { env: { LOCALAPPDATA: local }, dataDir: join(local, 'layover', 'Data') };
  }
  const dataHome = join(work, 'data-home');
  return { env: { XDG_DATA_HOME: dataHome }, dataDir: join(dataHome, 'layover') };
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
