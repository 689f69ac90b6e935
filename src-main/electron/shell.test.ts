/**
 * Every glue file of the shell (each file here that imports `electron`),
 * loaded against the typed stand-in of Electron (electron-stand-in.ts),
 * because Electron's binary cannot run here. What is checked is what the glue
 * hands to Electron: the IPC handlers and their sender checks, the window's
 * webPreferences, the session's CSP, request filter and permission handlers,
 * the navigation guards, the tray's icon and menu, notifications, what
 * safeStorage is asked and refused, the login item; and, with main.ts, the
 * whole shell around the real core: preload → IPC → core and back, the tray,
 * the optional admin listener, Quit.
 *
 * 'electron' is routed to the stand-in before any glue file is imported, so
 * the glue files are imported dynamically below.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import type { LayoverApi } from '../api/layover-api.js';
import { LAYOVER_METHODS } from '../api/layover-api.js';
import type { LayoverEvent, Settings, Status } from '../api/types.js';
import { defaultSettings } from '../app/settings.js';
import type { WebPreferences } from 'electron';
import type { AppPaths } from './app-paths.js';
import { appPaths } from './app-paths.js';
import * as electron from './electron-stand-in.js';
import { imagePath, preventableEvent, templateOf } from './electron-stand-in.js';
import { IPC_CALL, IPC_EVENTS, type CallResult } from './ipc-protocol.js';
import type { Notice } from './notifications.js';
import { CONTENT_SECURITY_POLICY, secureWebPreferences } from './security-policy.js';
import { status } from './test-fixtures.js';
import type { TrayView } from './tray-controller.js';
import { trayMenuModel, type MenuEntry, type TrayAction } from './tray-menu.js';
import { trayAppearance } from './tray-state.js';

electron.routeElectronToStandIn();

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = join(here, '..', '..');
const logger = pino({ level: 'silent' });

/** The glue files this test loads; the first test checks that they are all the files that load electron. */
const GLUE_LOADED_HERE = [
  'dashboard-window.ts', 'electron-settings.ts', 'ipc-bridge.ts', 'login-item.ts', 'main.ts', 'notifier.ts', 'preload.ts', 'session-security.ts', 'tray.ts',
];
const { IpcBridge } = await import('./ipc-bridge.js');
const { hardenSession, guardAllWebContents } = await import('./session-security.js');
const { DashboardWindow } = await import('./dashboard-window.js');
const { LayoverTray } = await import('./tray.js');
const { Notifier } = await import('./notifier.js');
const { createDesktopSettingsStore } = await import('./electron-settings.js');
const { applyStartAtLogin, launchedHidden } = await import('./login-item.js');
// main.ts and preload.ts act on import: the last test imports them.

type Details<F> = F extends (details: infer D, ...rest: never[]) => unknown ? D : never;

async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `layover-shell-${prefix}-`));
}

/** The page the stand-in renderer is: the dashboard's top frame unless a test says otherwise. */
function renderAs(url: string, options: { subframe?: boolean; contents?: electron.StandInWebContents } = {}): void {
  electron.ipcRenderer.page = {
    contents: options.contents ?? electron.ipcRenderer.page.contents,
    frame: { url, parent: options.subframe ? {} : null },
  };
}

/** A LayoverApi whose every method records its call and answers with its own name. */
function recordingApi() {
  const calls: Array<[string, unknown]> = [];
  const listeners = new Set<(event: LayoverEvent) => void>();
  const api: Record<string, unknown> = {
    subscribe: (listener: (event: LayoverEvent) => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  for (const method of LAYOVER_METHODS) {
    api[method] = async (arg: unknown) => {
      calls.push([method, arg]);
      return method === 'updateSettings' ? { ...defaultSettings(), ...(arg as object) } : { answeredBy: method };
    };
  }
  return { api: api as unknown as LayoverApi, calls, listeners };
}

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

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Waits for a state the shell exposes (a tray menu item, a file), checking every 20 ms; fails after 15 s. */
async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs work as if on another platform (login-item.ts and others read process.platform when called). */
async function onPlatform<T>(platform: NodeJS.Platform, work: () => Promise<T> | T): Promise<T> {
  const original = Object.getOwnPropertyDescriptor(process, 'platform')!;
  Object.defineProperty(process, 'platform', { ...original, value: platform });
  try {
    return await work();
  } finally {
    Object.defineProperty(process, 'platform', original);
  }
}

/** The checklist's webPreferences, key by key (not only "equal to what security-policy.ts returns"). */
function assertLockedDown(preferences: WebPreferences | undefined, preload: string, devTools: boolean): void {
  assert.deepEqual(preferences, secureWebPreferences(preload, { devTools }));
  assert.deepEqual(
    [preferences?.contextIsolation, preferences?.sandbox, preferences?.nodeIntegration, preferences?.nodeIntegrationInWorker, preferences?.nodeIntegrationInSubFrames, preferences?.webSecurity, preferences?.allowRunningInsecureContent, preferences?.webviewTag, preferences?.devTools, preferences?.preload],
    [true, true, false, false, false, true, false, false, devTools, preload],
  );
}

function labelsOf(template: ReturnType<typeof templateOf>): string[] {
  return template.map((item) => (item.type === 'separator' ? '—' : item.label ?? '?'));
}

test("'electron' resolves to the stand-in, and this test loads every file of the shell that imports electron", async () => {
  const loaded = (await import('electron' as string)) as { default: { app: unknown }; app: unknown };
  assert.equal(loaded.app, electron.app, 'the named exports are the stand-in');
  assert.equal(loaded.default.app, electron.app, 'and so is the default export electron-store reads');
  const importers = readdirSync(here)
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))
    .filter((name) => /^\s*import\s+(?!type\s)[^;]*?from\s*'electron'/m.test(readFileSync(join(here, name), 'utf8')));
  assert.deepEqual(importers.sort(), [...GLUE_LOADED_HERE].sort(), 'a new glue file needs its checks here');
});

test('IPC: one handler carries every LayoverApi method to the API, only for the dashboard\'s own top frame', async () => {
  const dashboardUrl = pathToFileURL(join(repo, 'dist', 'renderer', 'index.html')).href;
  const { api, calls, listeners } = recordingApi();
  const changed: Settings[] = [];
  const bridge = new IpcBridge({ dashboardUrl, logger, api: async () => api, onSettingsChanged: (settings) => changed.push(settings) });
  try {
    assert.deepEqual([...electron.ipcMain.handlers.keys()], [IPC_CALL], 'invoke goes through one channel');
    assert.equal(electron.ipcMain.listenerCount(IPC_EVENTS), 1, 'and events through one other');

    renderAs(`${dashboardUrl}#/settings`);
    for (const method of LAYOVER_METHODS) {
      const answer = await electron.ipcRenderer.invoke(IPC_CALL, method, { asked: method }) as CallResult;
      assert.deepEqual(answer, method === 'updateSettings'
        ? { ok: true, value: { ...defaultSettings(), asked: method } }
        : { ok: true, value: { answeredBy: method } }, method);
    }
    assert.deepEqual(calls.map(([method]) => method), [...LAYOVER_METHODS], 'every method reached the API, once');
    assert.deepEqual(calls.map(([, arg]) => arg), LAYOVER_METHODS.map((method) => ({ asked: method })));
    assert.equal(changed.length, 1, 'updateSettings is followed by the shell (start at login)');

    // Not the dashboard: another origin, a subframe of the dashboard, another file:// page.
    const refusedFrames: Array<[string, { subframe?: boolean }]> = [
      ['https://evil.example/', {}],
      [dashboardUrl, { subframe: true }],
      [pathToFileURL(join(tmpdir(), 'index.html')).href, {}],
    ];
    for (const [url, options] of refusedFrames) {
      renderAs(url, options);
      const answer = await electron.ipcRenderer.invoke(IPC_CALL, 'updateSettings', { listen: '0.0.0.0:5050' }) as CallResult;
      assert.deepEqual(answer, { ok: false, error: { code: 'FORBIDDEN', status: 403, message: 'refused: this page is not the Layover dashboard' } }, url);
      electron.ipcRenderer.send(IPC_EVENTS, 'subscribe');
    }
    assert.equal(calls.length, LAYOVER_METHODS.length, 'nothing reached the API from those pages');
    assert.equal(listeners.size, 0, 'and none of them got a subscription');

    // From the dashboard: a method that is not LayoverApi's, or a second argument, is refused before the API.
    renderAs(dashboardUrl);
    assert.equal((await electron.ipcRenderer.invoke(IPC_CALL, 'constructor', null) as CallResult).ok, false);
    assert.equal((await electron.ipcRenderer.invoke(IPC_CALL, 'getStatus', null, 'extra') as CallResult).ok, false);
    assert.equal(calls.length, LAYOVER_METHODS.length);

    // Live events: subscribe, then each API event is sent to the page.
    electron.ipcRenderer.send(IPC_EVENTS, 'subscribe');
    await until(() => listeners.size === 1, 'the subscription');
    const event: LayoverEvent = { type: 'activity', event: { at: 1, level: 'info', message: 'hello' } };
    listeners.forEach((listener) => listener(event));
    assert.deepEqual(electron.ipcRenderer.page.contents.sent.at(-1), { channel: IPC_EVENTS, args: [event] });
    electron.ipcRenderer.send(IPC_EVENTS, 'unsubscribe');
    assert.equal(listeners.size, 0);
  } finally {
    bridge.dispose();
  }
  assert.equal(electron.ipcMain.handlers.size, 0, 'dispose removes the handler');
  assert.equal(electron.ipcMain.listenerCount(IPC_EVENTS), 0);
  new IpcBridge({ dashboardUrl, logger, api: async () => api, onSettingsChanged: () => {} }).dispose(); // Electron would throw on a second handler left behind
});

test('session: no remote requests, our CSP on every document, permissions denied but clipboard writes from the dashboard', () => {
  const dashboardUrl = pathToFileURL(join(repo, 'dist', 'renderer', 'index.html')).href;
  const session = electron.session.defaultSession;
  hardenSession(session as never, { dashboardUrl, devTools: false, logger });

  const before = session.webRequest.beforeRequest!;
  assert.equal(before.filter, undefined, 'the request filter sees every request of the session');
  const decide = (url: string) => {
    let response: unknown;
    before.listener({ url, resourceType: 'xhr' } as Details<typeof before.listener>, (answer) => {
      response = answer;
    });
    return response;
  };
  assert.deepEqual(decide('https://example.com/tracker.js'), { cancel: true });
  assert.deepEqual(decide('http://127.0.0.1:5051/api/v1/call/getStatus'), { cancel: true });
  assert.deepEqual(decide('devtools://devtools/bundled/inspector.html'), { cancel: true }, 'no developer tools in a packaged app');
  assert.deepEqual(decide(new URL('assets/index.js', dashboardUrl).href), { cancel: false });

  const headers = session.webRequest.headersReceived!;
  assert.equal(headers.filter, undefined);
  const respond = (resourceType: string, responseHeaders: Record<string, string[]>) => {
    let response: unknown;
    headers.listener({ url: dashboardUrl, resourceType, responseHeaders } as unknown as Details<typeof headers.listener>, (answer) => {
      response = answer;
    });
    return response;
  };
  assert.deepEqual(respond('mainFrame', { 'content-security-policy': ["default-src *; script-src 'unsafe-inline'"], 'Content-Type': ['text/html'] }), {
    responseHeaders: { 'Content-Type': ['text/html'], 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
  }, 'a document gets our policy, replacing its own');
  assert.deepEqual(respond('script', { 'Content-Type': ['text/javascript'] }), { responseHeaders: { 'Content-Type': ['text/javascript'] } });
  for (const directive of ["default-src 'none'", "script-src 'self'", "connect-src 'none'", "object-src 'none'", "frame-ancestors 'none'"]) {
    assert.ok(CONTENT_SECURITY_POLICY.split('; ').includes(directive), directive);
  }
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-|\*/);

  const asks = (permission: string, requestingUrl: string) => {
    let granted: boolean | undefined;
    session.permissionRequestHandler!(electron.ipcRenderer.page.contents as never, permission as never, (answer) => {
      granted = answer;
    }, { requestingUrl } as never);
    const checked = session.permissionCheckHandler!(null, permission as never, new URL(requestingUrl).origin, { requestingUrl } as never);
    return [granted, checked];
  };
  assert.deepEqual(asks('clipboard-sanitized-write', dashboardUrl), [true, true]);
  assert.deepEqual(asks('clipboard-sanitized-write', 'https://evil.example/'), [false, false]);
  for (const permission of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read']) {
    assert.deepEqual(asks(permission, dashboardUrl), [false, false], permission);
  }
  assert.equal(session.devicePermissionHandler!({} as never), false);
  let streams: unknown = 'unanswered';
  session.displayMediaRequestHandler!({} as never, (answer) => {
    streams = answer;
  });
  assert.deepEqual(streams, {}, 'screen capture: no streams');
  assert.equal(session.spellCheckerEnabled, false, 'spell checking would download dictionaries');
});

test('every web contents: no navigation away from the dashboard, no new windows, no webviews', () => {
  const dashboardUrl = pathToFileURL(join(repo, 'dist', 'renderer', 'index.html')).href;
  guardAllWebContents({ dashboardUrl, devTools: false, logger });
  const window = new electron.BrowserWindow({}); // Electron announces its web contents: the guard attaches there
  const contents = window.webContents;
  const navigate = (name: string, url: string, isMainFrame = true) => {
    const event = preventableEvent({ url, isMainFrame });
    contents.emit(name, event);
    return event.defaultPrevented ? 'refused' : 'allowed';
  };
  for (const name of ['will-navigate', 'will-frame-navigate', 'will-redirect']) {
    assert.equal(navigate(name, 'https://evil.example/'), 'refused', name);
    assert.equal(navigate(name, 'file:///etc/passwd'), 'refused', name);
    assert.equal(navigate(name, `${dashboardUrl}#/docker`), 'allowed', name);
    assert.equal(navigate(name, dashboardUrl, false), 'refused', `${name} in a subframe`);
  }
  assert.deepEqual(contents.windowOpenHandler!({ url: 'https://example.com/' } as never), { action: 'deny' });
  assert.deepEqual(contents.windowOpenHandler!({ url: dashboardUrl } as never), { action: 'deny' });
  const webview = preventableEvent();
  contents.emit('will-attach-webview', webview);
  assert.equal(webview.defaultPrevented, true);
  window.destroy();
  electron.app.removeAllListeners('web-contents-created');
});

test('the dashboard window: locked-down webPreferences, the built dashboard over file://, closing hides it', async () => {
  const dir = await tempDir('window');
  try {
    const paths: AppPaths = { appRoot: dir, dashboardIndex: join(dir, 'index.html'), dashboardUrl: pathToFileURL(join(dir, 'index.html')).href, preload: join(dir, 'preload.cjs'), trayIconsDir: dir, appIcon: join(dir, 'icon.png') };
    await writeFile(paths.dashboardIndex, '<!doctype html>');
    const before = electron.BrowserWindow.all.length;
    const dashboard = new DashboardWindow({ paths, devTools: false, logger });
    dashboard.show('settings');
    assert.equal(electron.BrowserWindow.all.length, before + 1);
    const window = electron.BrowserWindow.all.at(-1)!;
    assertLockedDown(window.options.webPreferences, paths.preload, false);
    assert.equal(window.options.show, false, 'shown once painted, not blank');
    assert.deepEqual(window.loads, [{ filePath: paths.dashboardIndex, options: { hash: '/settings' } }]);
    await until(() => window.isVisible(), 'the window to show once ready');

    window.close();
    assert.equal(window.isDestroyed(), false, 'closing hides: the app lives on in the tray');
    assert.equal(window.isVisible(), false);
    dashboard.show('docker');
    assert.equal(electron.BrowserWindow.all.length, before + 1, 'the same window again');
    assert.deepEqual(window.loads.at(-1), { filePath: paths.dashboardIndex, options: { hash: '/docker' } });
    assert.equal(window.isVisible(), true);

    window.webContents.emit('render-process-gone', preventableEvent(), { reason: 'crashed', exitCode: 139 });
    assert.equal(window.webContents.reloads, 1, 'a crashed renderer is reloaded');

    dashboard.quitting = true;
    window.close();
    assert.equal(window.isDestroyed(), true, 'when quitting, closing closes');

    // Not built: the window says so instead of loading nothing.
    await rm(paths.dashboardIndex);
    const unbuilt = new DashboardWindow({ paths, devTools: false, logger });
    unbuilt.show();
    assert.deepEqual(electron.BrowserWindow.all.at(-1)!.loads, []);
    assert.match(electron.dialog.errorBoxes.at(-1)!.content, new RegExp(`${paths.dashboardIndex.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is missing`));
    unbuilt.destroy();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the tray: the icon of each state, the tooltip, and the menu model as an Electron menu whose items call back', async () => {
  const actions: TrayAction[] = [];
  const tray = new LayoverTray(join(repo, 'assets', 'tray'), (action) => actions.push(action));
  const electronTray = electron.Tray.all.at(-1)!;
  assert.equal(imagePath(electronTray.image), join(repo, 'assets', 'tray', 'ready.png'));
  assert.equal(electronTray.toolTip, 'Layover: starting…');
  electronTray.emit('click');
  assert.deepEqual(actions, ['open-dashboard'], 'a left click opens the dashboard (Windows, Linux)');

  const s = status({ state: 'offline', summary: 'Serving from cache: docker.io unreachable' });
  const appearance = trayAppearance({ status: s, activeJobs: 0 });
  const menu: MenuEntry[] = trayMenuModel({ appearance, status: s, startAtLogin: true, unavailable: new Set(), busy: new Set(['prefetch-now']), browserDashboard: true });
  const view: TrayView = { appearance, menu };
  tray.render(view);
  assert.equal(imagePath(electronTray.image), join(repo, 'assets', 'tray', 'offline.png'));
  assert.equal(electronTray.toolTip, appearance.tooltip);
  const template = templateOf(electronTray.contextMenu);
  assert.deepEqual(labelsOf(template), menu.map((entry) => (entry.kind === 'separator' ? '—' : entry.label)));
  menu.forEach((entry, index) => {
    const item = template[index]!;
    if (entry.kind === 'status') assert.deepEqual({ ...item }, { label: entry.label, enabled: false });
    if (entry.kind === 'separator') assert.deepEqual({ ...item }, { type: 'separator' });
    if (entry.kind === 'action') assert.equal(item.enabled, entry.enabled, entry.label);
    if (entry.kind === 'checkbox') assert.deepEqual([item.type, item.checked, item.enabled], ['checkbox', entry.checked, entry.enabled]);
  });
  actions.length = 0;
  for (const item of template) item.click?.(undefined as never, undefined, undefined as never);
  assert.deepEqual(actions, menu.flatMap((entry) => ('action' in entry ? [entry.action] : [])), 'each item calls back with its action');
  assert.ok(actions.includes('open-dashboard-in-browser'));

  const sets = electronTray.contextMenuSets;
  tray.render(view);
  assert.equal(electronTray.contextMenuSets, sets + 1, 'the menu is set anew each time (Linux trays)');
  tray.destroy();
  assert.equal(electronTray.isDestroyed(), true);
  assert.throws(() => new LayoverTray(join(repo, 'no-such-dir'), () => {}), /the tray icon .*ready\.png is missing/);
});

test('notifications: title, body and icon as decided; a click opens the page; a newer notice replaces its older one', async () => {
  const opened: string[] = [];
  const notifier = new Notifier({ icon: '/icons/layover.png', open: (page) => opened.push(page) });
  const first: Notice = { key: 'upstream:docker.io', title: 'docker.io is unreachable', body: 'Serving from cache.', page: 'overview' };
  const before = electron.Notification.all.length;
  notifier.show(first);
  const shown = electron.Notification.all.at(-1)!;
  assert.deepEqual(shown.options, { title: first.title, body: first.body, icon: '/icons/layover.png' });
  assert.equal(shown.shown, true);
  shown.emit('click');
  assert.deepEqual(opened, ['overview']);
  notifier.show({ ...first, body: 'Still.' });
  assert.equal(shown.closed, true, 'the older notice with the same key is closed');
  notifier.show({ key: 'settings', title: 'A setting needs your attention', body: '…', page: 'settings' });
  notifier.closeAll();
  assert.deepEqual(electron.Notification.all.slice(before).map((n) => n.closed), [true, true, true]);

  electron.Notification.supported = false;
  try {
    notifier.show(first);
    assert.equal(electron.Notification.all.length, before + 3, 'none where the platform has none');
  } finally {
    electron.Notification.supported = true;
  }
});

test('settings: electron-store in the profile; safeStorage is refused on basic_text and the password is never written', async () => {
  const profile = await tempDir('profile');
  const previousProfile = electron.app.getPath('userData');
  electron.app.setPath('userData', profile);
  const withPassword = (password: string): Settings => ({
    ...defaultSettings(),
    registries: [{ name: 'docker.io', endpoints: [{ url: 'https://registry-1.docker.io', username: 'me', password }] }],
  });
  try {
    const store = createDesktopSettingsStore();
    assert.equal(store.location, join(profile, 'config.json'));

    electron.safeStorage.backend = 'basic_text';
    electron.safeStorage.available = true; // Electron says "available" with basic_text too: that is the trap
    const encryptions = electron.safeStorage.encryptions;
    await assert.rejects(store.save(withPassword('pa55-basic-text')), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'INSECURE_KEYSTORE');
      assert.match(error.message, /will not store the password for https:\/\/registry-1\.docker\.io.*basic_text/s);
      return true;
    });
    assert.equal(electron.safeStorage.encryptions, encryptions, 'safeStorage was never asked to encrypt');
    assert.equal(existsSync(store.location) && /pa55-basic-text/.test(await readFile(store.location, 'utf8')), false);
    await store.save({ ...defaultSettings(), tagFreshnessSeconds: 42 });
    assert.equal(JSON.parse(await readFile(store.location, 'utf8')).settings.tagFreshnessSeconds, 42, 'settings without a password are saved');

    electron.safeStorage.backend = 'gnome_libsecret';
    await store.save(withPassword('pa55-keyring'));
    assert.equal(electron.safeStorage.encryptions, encryptions + 1);
    const onDisk = await readFile(store.location, 'utf8');
    assert.doesNotMatch(onDisk, /pa55-keyring/);
    assert.equal(JSON.parse(onDisk).settings.registries[0].endpoints[0].hasPassword, true);
    const reread = await createDesktopSettingsStore().load();
    assert.equal(reread.registries[0]!.endpoints[0]!.password, 'pa55-keyring', 'read back through safeStorage');
  } finally {
    electron.app.setPath('userData', previousProfile);
    electron.safeStorage.backend = 'basic_text';
    await rm(profile, { recursive: true, force: true });
  }
});

test('start at login: an XDG autostart entry on Linux; login item settings on Windows and macOS', async () => {
  const config = await tempDir('autostart');
  const previous = process.env.XDG_CONFIG_HOME;
  process.env.XDG_CONFIG_HOME = config;
  const entry = join(config, 'autostart', 'layover.desktop');
  try {
    await onPlatform('linux', () => applyStartAtLogin(true));
    assert.match(await readFile(entry, 'utf8'), /^Exec=.* --hidden$/m);
    await onPlatform('linux', () => applyStartAtLogin(false));
    assert.equal(existsSync(entry), false);
    assert.equal(electron.app.loginItemSettingsSet.length, 0, 'Linux has no login items');

    await onPlatform('win32', () => applyStartAtLogin(true));
    const windows = electron.app.loginItemSettingsSet.at(-1)!;
    assert.equal(windows.openAtLogin, true);
    assert.equal(windows.path, process.execPath);
    assert.equal(windows.args?.at(-1), '--hidden', 'started at login, it stays in the tray');
    await onPlatform('darwin', () => applyStartAtLogin(false));
    assert.deepEqual(electron.app.loginItemSettingsSet.at(-1), { openAtLogin: false });

    assert.equal(await onPlatform('darwin', () => launchedHidden()), false);
    electron.app.wasOpenedAtLogin = true;
    assert.equal(await onPlatform('darwin', () => launchedHidden()), true, 'macOS says it opened Layover at login');
  } finally {
    electron.app.wasOpenedAtLogin = false;
    if (previous === undefined) delete process.env.XDG_CONFIG_HOME;
    else process.env.XDG_CONFIG_HOME = previous;
    await rm(config, { recursive: true, force: true });
  }
});

test('main: the whole shell around the real core — preload to IPC to core, the tray, the browser dashboard setting, Quit', { timeout: 120_000 }, async () => {
  const work = await tempDir('main');
  const profile = join(work, 'profile');
  const dataHome = join(work, 'data');
  const configHome = join(work, 'config');
  const admin = await freePort();
  Object.assign(process.env, { LAYOVER_USER_DATA_DIR: profile, XDG_DATA_HOME: dataHome, XDG_CONFIG_HOME: configHome, LAYOVER_LOG_LEVEL: 'silent' });
  await mkdir(profile, { recursive: true });
  // electron-store's document as the shell reads it; the upstream is a loopback port nobody listens on.
  await writeFile(join(profile, 'config.json'), JSON.stringify({
    settings: { ...defaultSettings(), listen: '127.0.0.1:0', admin: `127.0.0.1:${admin}`, registries: [{ name: 'docker.io', endpoints: [{ url: 'http://127.0.0.1:9' }] }], firstRunDone: true },
  }));
  electron.safeStorage.backend = 'basic_text';
  const paths = appPaths({ mainDir: here, isPackaged: false, resourcesPath: '' });
  const dataDir = join(dataHome, 'layover');
  const windowsBefore = electron.BrowserWindow.all.length;
  const traysBefore = electron.Tray.all.length;

  try {
    await import('./main.js');
    assert.equal(electron.app.getPath('userData'), profile, 'LAYOVER_USER_DATA_DIR is the profile');
    assert.equal(electron.app.sandboxEnabled, true, 'every renderer sandboxed');
    assert.equal(electron.app.singleInstanceLockRequests, 1);
    assert.equal(electron.app.appUserModelId, 'io.layover.desktop');

    electron.app.becomeReady();
    const window = await until(() => electron.BrowserWindow.all[windowsBefore], 'the dashboard window');
    assertLockedDown(window.options.webPreferences, join(repo, 'dist', 'electron', 'preload.cjs'), true); // not packaged: developer tools stay on
    if (existsSync(paths.dashboardIndex)) assert.equal(window.loads[0]?.filePath, paths.dashboardIndex);
    else assert.match(electron.dialog.errorBoxes.at(-1)?.content ?? '', /is not built/);
    assert.equal(electron.Menu.applicationMenu, null, 'no application menu outside macOS');
    const session = electron.session.defaultSession;
    assert.ok(session.webRequest.beforeRequest && session.webRequest.headersReceived && session.permissionRequestHandler, 'the default session is hardened');

    // The page: the preload exposes exactly LayoverApi, and calls reach the real core over IPC.
    renderAs(paths.dashboardUrl, { contents: window.webContents });
    await import('./preload.js');
    assert.deepEqual([...electron.contextBridge.exposed.keys()], ['layover']);
    const layover = electron.contextBridge.exposed.get('layover') as LayoverApi;
    assert.deepEqual(Object.keys(layover).sort(), [...LAYOVER_METHODS, 'subscribe'].sort());
    const status: Status = await layover.getStatus();
    assert.equal(status.state, 'ready');
    assert.equal(status.dataDir, dataDir, 'the per-user data folder the CLI looks in, not the Electron profile');
    assert.ok(existsSync(join(dataDir, 'instance.json')), 'announced for the CLI');
    assert.equal((await fetch(`${status.mirrorUrl}/v2/`)).status, 200);
    assert.equal(await accepts(admin), false, 'no admin listener unless browserDashboard is on');
    assert.deepEqual([...electron.ipcMain.handlers.keys()], [IPC_CALL]);
    assert.deepEqual(electron.ipcMain.eventNames().sort(), ['electron-store-get-data', IPC_EVENTS].sort(), 'the only IPC the main process listens to');

    // Another page is refused through the same path.
    renderAs('https://evil.example/');
    await assert.rejects(layover.getSettings(), { code: 'FORBIDDEN' });
    renderAs(paths.dashboardUrl);

    // Live events over IPC: a pull through the mirror shows as a request.
    const requests: LayoverEvent[] = [];
    const unsubscribe = layover.subscribe((event) => {
      if (event.type === 'request') requests.push(event);
    });
    await layover.getStatus(); // answered after the subscription, which waited for the same core, is connected
    await fetch(`${status.mirrorUrl}/v2/library/alpine/manifests/latest`).then((response) => response.arrayBuffer());
    await until(() => requests.length > 0, 'a request event');

    // The tray shows the running mirror, and its items act.
    const tray = electron.Tray.all[traysBefore]!;
    const copyItem = await until(() => templateOf(tray.contextMenu).find((item) => item.label === `Copy mirror address (${status.mirrorAddress})`), 'the tray menu of the running mirror');
    assert.equal(templateOf(tray.contextMenu).some((item) => item.label === 'Open dashboard in browser'), false);
    copyItem.click?.(undefined as never, undefined, undefined as never);
    await until(() => electron.clipboard.written.includes(status.mirrorAddress), 'the address on the clipboard');

    // Settings land in electron-store; a password is refused on basic_text and never written.
    await layover.updateSettings({ tagFreshnessSeconds: 123 });
    assert.equal(JSON.parse(await readFile(join(profile, 'config.json'), 'utf8')).settings.tagFreshnessSeconds, 123);
    await assert.rejects(
      layover.updateSettings({ registries: [{ name: 'docker.io', endpoints: [{ url: 'http://127.0.0.1:9', username: 'ci', password: 'pa55-main-secret' }] }] }),
      /will not store the password.*basic_text/s,
    );
    assert.doesNotMatch(await readFile(join(profile, 'config.json'), 'utf8'), /pa55-main-secret/);

    // Start at login from the dashboard: the shell follows with the login item.
    const entry = join(configHome, 'autostart', 'layover.desktop');
    await layover.updateSettings({ startAtLogin: true });
    await until(() => existsSync(entry), 'the autostart entry');
    await layover.updateSettings({ startAtLogin: false });
    await until(() => !existsSync(entry), 'the autostart entry to go');

    // Dashboard in a browser: on, the core restarts with the admin listener and the tray opens a one-time login link.
    await layover.updateSettings({ browserDashboard: true });
    const openInBrowser = await until(() => templateOf(tray.contextMenu).find((item) => item.label === 'Open dashboard in browser'), 'the tray item of the browser dashboard');
    assert.equal(await accepts(admin), true);
    openInBrowser.click?.(undefined as never, undefined, undefined as never);
    const link = new URL(await until(() => electron.shell.openedExternal[0], 'shell.openExternal'));
    assert.equal(link.origin, `http://127.0.0.1:${admin}`);
    assert.ok(link.searchParams.get('code'), 'never a link without a login code');
    assert.match((await fetch(link, { redirect: 'manual' })).headers.get('set-cookie') ?? '', /HttpOnly/i, 'the code logs the browser in');
    const restarted = await layover.getStatus();
    assert.equal(restarted.state, 'ready', 'the window follows the restarted core');
    const seen = requests.length;
    await fetch(`${restarted.mirrorUrl}/v2/library/alpine/manifests/latest`).then((response) => response.arrayBuffer());
    await until(() => requests.length > seen, 'live events from the restarted core');
    // Off again: the item goes, the listener closes.
    await layover.updateSettings({ browserDashboard: false });
    await until(() => !templateOf(tray.contextMenu).some((item) => item.label === 'Open dashboard in browser'), 'the item to go');
    assert.equal(await accepts(admin), false);
    unsubscribe();

    // Quit: the mirror stops, instance.json goes, the tray and window go, IPC is unhandled.
    const mirrorPort = Number(new URL((await layover.getStatus()).mirrorUrl).port);
    electron.app.quit();
    await electron.app.whenQuit();
    assert.equal(electron.app.quits, 1, 'the first quit waits for the core to stop, then quits once');
    assert.equal(electron.app.exitCode, undefined, 'no fatal start');
    assert.equal(await accepts(mirrorPort), false, 'the mirror stopped');
    assert.equal(existsSync(join(dataDir, 'instance.json')), false);
    assert.equal(tray.isDestroyed(), true);
    assert.equal(window.isDestroyed(), true);
    assert.equal(electron.ipcMain.handlers.size, 0);
  } finally {
    // A check that failed half-way left the core running in the data folder: stop it first, so the folder can go
    // and the failure shows as itself rather than as ENOTEMPTY from removing a folder still being written.
    if (electron.app.quits === 0) {
      electron.app.quit();
      await electron.app.whenQuit();
    }
    await rm(work, { recursive: true, force: true, maxRetries: 5 });
  }
});
