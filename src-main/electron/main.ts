/**
 * Layover's Electron main process: a thin shell around the same core that
 * `layover serve` runs. It owns the app's lifecycle (one instance, start the
 * core, hide to the tray, quit cleanly) and wires the parts:
 *
 *   CoreHost (startHeadless with electron-store settings) ─► LayoverApi
 *     ├─ IpcBridge ─► preload ─► window.layover ─► the dashboard (file://)
 *     └─ TrayController ─► tray icon, menu, notifications, start at login
 *
 * Every decision lives in a pure module beside this one; this file and the
 * other glue files only make Electron do what those decided.
 */
import { app, clipboard, Menu, powerMonitor, session, shell } from 'electron';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import type { SettingsStore } from '../app/settings-store.js';
import { appPaths } from './app-paths.js';
import { defaultDataDir } from '../app/instance.js';
import { CoreHost, type CoreHostState } from './core-host.js';
import { DashboardWindow } from './dashboard-window.js';
import { createDesktopSettingsStore } from './electron-settings.js';
import { IpcBridge } from './ipc-bridge.js';
import { applyStartAtLogin, launchedHidden } from './login-item.js';
import { coreDownNotice, settingsWarningNotice } from './notifications.js';
import { Notifier } from './notifier.js';
import { guardAllWebContents, hardenSession } from './session-security.js';
import { LayoverTray } from './tray.js';
import { TrayController } from './tray-controller.js';

/** How long quitting waits for the mirror to stop and the index to flush before giving up. */
const STOP_TIMEOUT_MS = 15_000;

// A profile of its own (tests, or two Layovers side by side): must come before the single-instance lock, which is per profile.
if (process.env.LAYOVER_USER_DATA_DIR) app.setPath('userData', resolve(process.env.LAYOVER_USER_DATA_DIR));
app.enableSandbox();
app.setAppUserModelId('io.layover.desktop');

const paths = appPaths({ mainDir: dirname(fileURLToPath(import.meta.url)), isPackaged: app.isPackaged, resourcesPath: process.resourcesPath });
const devTools = !app.isPackaged;

if (!app.requestSingleInstanceLock()) {
  // Another Layover runs with this profile: it got 'second-instance' and shows its window.
  app.quit();
} else {
  runShell();
}

function runShell(): void {
  const logger = createLogger();
  const window = new DashboardWindow({ paths, devTools, logger });
  const notifier = new Notifier({ icon: paths.appIcon, open: (page) => window.show(page) });
  let host: CoreHost | undefined;
  let controller: TrayController | undefined;
  let tray: LayoverTray | undefined;
  let bridge: IpcBridge | undefined;
  let phase: 'running' | 'stopping' | 'stopped' = 'running';

  process.on('unhandledRejection', (error) => logger.error({ err: error }, 'unhandled rejection in the main process'));
  app.on('second-instance', () => window.show());
  app.on('activate', () => window.show());
  // Closing the window hides it; the app lives on in the tray until Quit.
  app.on('window-all-closed', () => {});

  app.on('before-quit', (event) => {
    window.quitting = true;
    if (phase === 'stopped') return;
    event.preventDefault();
    if (phase === 'stopping') return;
    phase = 'stopping';
    void shutdown().finally(() => {
      phase = 'stopped';
      app.quit();
    });
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => app.quit());

  async function shutdown(): Promise<void> {
    logger.info('quitting: stopping the mirror');
    controller?.stop();
    notifier.closeAll();
    bridge?.dispose();
    try {
      await withTimeout(host?.stop() ?? Promise.resolve(), STOP_TIMEOUT_MS, 'stopping the mirror');
    } catch (error) {
      logger.error({ err: error }, 'the mirror did not stop cleanly');
    }
    tray?.destroy();
    window.destroy();
    logger.info('stopped');
    logger.flush();
  }

  async function follow(state: CoreHostState): Promise<void> {
    if (!state.running) notifier.show(coreDownNotice(state.error));
    // The tray offers the browser dashboard only while its listener runs, and then always with a fresh login code.
    const { instance } = state.running ? state : { instance: undefined };
    const browserDashboard = instance?.adminUrl !== undefined ? { loginUrl: () => instance.dashboardLoginUrl() } : undefined;
    await controller?.attach(state.api, state.running ? undefined : state.error, browserDashboard);
    bridge?.reattach();
  }

  app.whenReady().then(async () => {
    const dashboardUrl = paths.dashboardUrl;
    hardenSession(session.defaultSession, { dashboardUrl, devTools, logger });
    guardAllWebContents({ dashboardUrl, devTools, logger });
    Menu.setApplicationMenu(process.platform === 'darwin'
      ? Menu.buildFromTemplate([{ role: 'appMenu' }, { role: 'editMenu' }, { role: 'windowMenu' }])
      : null);
    // The OS is shutting down or logging out: stop the mirror like Quit does.
    powerMonitor.on('shutdown', () => app.quit());

    const settingsStore = openSettingsStore(logger);
    host = new CoreHost({
      dataDir: defaultDataDir() /* the folder the CLI looks in, so `layover pull` finds the tray's mirror */,
      logger,
      settingsStore,
      announce: true,
      onRestarted: (state) => void follow(state),
    });
    const started = host.start();

    controller = new TrayController({
      render: (view) => tray?.render(view),
      notify: (notice) => notifier.show(notice),
      openDashboard: (page) => window.show(page),
      openExternal: (url) => shell.openExternal(url),
      copyText: (text) => {
        // Electron 45 declares writeText async; older ones returned nothing: either way a failure is logged, not unhandled.
        Promise.resolve().then(() => clipboard.writeText(text)).catch((error: unknown) => logger.warn({ err: error }, 'could not copy to the clipboard'));
      },
      quit: () => app.quit(),
      retryStart: () => {
        if (!host) return;
        void host.restart().then(async (state) => {
          await follow(state);
          window.browserWindow?.webContents.reload();
        });
      },
      applyStartAtLogin,
      log: (level, message, error) => logger[level]({ err: error }, message),
      now: () => Date.now(),
      timers: {
        setInterval: (handler, ms) => setInterval(handler, ms),
        clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
        setTimeout: (handler, ms) => setTimeout(handler, ms),
        clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
      },
    });
    tray = new LayoverTray(paths.trayIconsDir, (action) => void controller?.handle(action));
    bridge = new IpcBridge({
      dashboardUrl,
      logger,
      api: async () => (await host!.ready()).api,
      onSettingsChanged: (settings) => controller?.onSettings(settings),
    });

    if (!launchedHidden()) window.show();
    await follow(await started);
    const warning = settingsWarningNotice((settingsStore as { warnings?: string[] }).warnings ?? []);
    if (warning) notifier.show(warning);
  }).catch((error: unknown) => {
    logger.fatal({ err: error }, 'the desktop shell could not start');
    app.exit(1);
  });
}

/** electron-store refuses a config.json that is not JSON; the core then reports that instead of starting from defaults. */
function openSettingsStore(logger: Logger): SettingsStore {
  try {
    return createDesktopSettingsStore();
  } catch (error) {
    const message = `the settings file in ${app.getPath('userData')} cannot be read: ${(error as Error).message}`;
    logger.error(message);
    const refuse = async (): Promise<never> => {
      throw new Error(message);
    };
    return { location: join(app.getPath('userData'), 'config.json'), load: refuse, save: refuse };
  }
}

function createLogger(): Logger {
  const options = { base: undefined, timestamp: pino.stdTimeFunctions.isoTime, level: process.env.LAYOVER_LOG_LEVEL ?? 'info' };
  if (!app.isPackaged) return pino(options);
  // Packaged, nobody reads stdout: the log goes to the platform's log folder.
  return pino(options, pino.destination({ dest: join(app.getPath('logs'), 'layover.log'), mkdir: true, sync: true }));
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
