/**
 * Where the shell finds its parts, in development (the repository) and
 * packaged (app.asar plus resources/). Pure.
 *
 * The compiled main process is dist/main/electron/main.js, so the app's root
 * (the repository, or app.asar) is three folders up from it. The shell's test
 * loads main.ts from source (src-main/electron/main.ts): two folders up.
 */
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface AppPaths {
  appRoot: string;
  /** The dashboard built by the renderer (vite, base './'). */
  dashboardIndex: string;
  /** Its file:// URL: what IPC senders, navigations and requests are checked against. */
  dashboardUrl: string;
  /** The sandboxed preload, bundled to CommonJS. */
  preload: string;
  /** Tray icons: assets/tray, shipped as extraResources to resources/tray. */
  trayIconsDir: string;
  /** The app icon for windows and notifications (Linux, Windows). */
  appIcon: string;
}

export function appPaths(input: { mainDir: string; isPackaged: boolean; resourcesPath: string }): AppPaths {
  const fromSource = basename(input.mainDir) === 'electron' && basename(dirname(input.mainDir)) === 'src-main';
  const appRoot = fromSource ? resolve(input.mainDir, '..', '..') : resolve(input.mainDir, '..', '..', '..');
  const dashboardIndex = join(appRoot, 'dist', 'renderer', 'index.html');
  return {
    appRoot,
    dashboardIndex,
    dashboardUrl: pathToFileURL(dashboardIndex).href,
    preload: join(appRoot, 'dist', 'electron', 'preload.cjs'),
    trayIconsDir: input.isPackaged ? join(input.resourcesPath, 'tray') : join(appRoot, 'assets', 'tray'),
    appIcon: input.isPackaged ? join(input.resourcesPath, 'icon.png') : join(appRoot, 'assets', 'icon.png'),
  };
}
