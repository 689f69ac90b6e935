/**
 * The one dashboard window: created when first needed, loaded from the built
 * dashboard over file://, hidden (not closed) when the person closes it, so
 * the app lives on in the tray. Glue only; its webPreferences come from
 * security-policy.ts.
 */
import { app, BrowserWindow, dialog, nativeTheme } from 'electron';
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { AppPaths } from './app-paths.js';
import { secureWebPreferences } from './security-policy.js';

/** The renderer's hash routes (src-renderer/app/route.ts). */
export type DashboardPage = 'overview' | 'repositories' | 'activity' | 'docker' | 'settings' | 'demo' | 'first-run';

export class DashboardWindow {
  private window?: BrowserWindow;
  private loaded = false;
  private showWhenReady = false;
  /** Set when the app quits: then closing really closes. */
  quitting = false;

  constructor(private readonly options: { paths: AppPaths; devTools: boolean; logger: Logger }) {}

  /** Shows the window (creating it if need be), on a page if one is named. */
  show(page?: DashboardPage): void {
    const existing = this.window && !this.window.isDestroyed() ? this.window : undefined;
    const window = existing ?? this.create(page);
    if (existing && page) this.goTo(existing, page);
    if (process.platform === 'darwin') void app.dock?.show();
    if (!this.loaded) {
      this.showWhenReady = true;
      return;
    }
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
  }

  get browserWindow(): BrowserWindow | undefined {
    return this.window && !this.window.isDestroyed() ? this.window : undefined;
  }

  private goTo(window: BrowserWindow, page: DashboardPage): void {
    // Only the hash changes: a same-document navigation, the dashboard's own routing.
    window.loadFile(this.options.paths.dashboardIndex, { hash: `/${page}` }).catch((error: unknown) => {
      this.options.logger.warn({ err: error, page }, 'could not open a dashboard page');
    });
  }

  private create(page?: DashboardPage): BrowserWindow {
    const { paths, devTools, logger } = this.options;
    const window = new BrowserWindow({
      width: 1180,
      height: 800,
      minWidth: 760,
      minHeight: 520,
      show: false,
      title: 'Layover',
      autoHideMenuBar: true,
      backgroundColor: nativeTheme.shouldUseDarkColors ? '#17191c' : '#ffffff',
      ...(process.platform === 'darwin' ? {} : { icon: paths.appIcon }),
      webPreferences: secureWebPreferences(paths.preload, { devTools }),
    });
    this.window = window;
    this.loaded = false;

    window.on('close', (event) => {
      if (this.quitting) return;
      event.preventDefault();
      window.hide();
      if (process.platform === 'darwin') app.dock?.hide();
    });
    window.once('ready-to-show', () => {
      this.loaded = true;
      if (this.showWhenReady) {
        this.showWhenReady = false;
        window.show();
        window.focus();
      }
    });
    window.on('closed', () => {
      if (this.window === window) this.window = undefined;
    });
    window.webContents.on('render-process-gone', (_event, details) => {
      logger.error({ reason: details.reason, exitCode: details.exitCode }, 'the dashboard renderer went away; reloading it');
      if (!window.isDestroyed() && details.reason !== 'clean-exit') window.webContents.reload();
    });
    window.webContents.on('console-message', (event) => {
      if (event.level === 'error') logger.warn({ message: event.message.slice(0, 500), source: event.sourceId }, 'dashboard console error');
    });

    if (!existsSync(paths.dashboardIndex)) {
      dialog.showErrorBox('Layover', `The dashboard is not built: ${paths.dashboardIndex} is missing. Build it (vite build of src-renderer) and start Layover again; the mirror and the tray work without it.`);
      this.loaded = true;
      return window;
    }
    window.loadFile(paths.dashboardIndex, page ? { hash: `/${page}` } : {}).catch((error: unknown) => {
      logger.error({ err: error }, 'could not load the dashboard');
    });
    return window;
  }

  destroy(): void {
    this.quitting = true;
    this.browserWindow?.destroy();
  }
}
