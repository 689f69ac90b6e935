/**
 * Finds an Electron binary for the end-to-end test without loading the
 * `electron` package (whose require() downloads the binary when it is
 * missing), and a display to run it on. Each answer comes with the reason
 * when there is none, so the test can skip saying exactly why.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export type Found<T> = { ok: true; value: T } | { ok: false; reason: string };

/** The executable inside an Electron dist folder, as node_modules/electron/index.js names it. */
function executableIn(dist: string, electronPackage: string): string {
  const pathFile = join(electronPackage, 'path.txt');
  if (existsSync(pathFile)) return join(dist, readFileSync(pathFile, 'utf8').trim());
  if (process.platform === 'darwin') return join(dist, 'Electron.app', 'Contents', 'MacOS', 'Electron');
  return join(dist, process.platform === 'win32' ? 'electron.exe' : 'electron');
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * ELECTRON_OVERRIDE_DIST_PATH (a local Electron build) first, then the
 * binary that electron's install script puts in node_modules/electron/dist.
 */
export function findElectronBinary(root: string): Found<string> {
  const electronPackage = join(root, 'node_modules', 'electron');
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (override) {
    const path = executableIn(override, electronPackage);
    return executable(path)
      ? { ok: true, value: path }
      : { ok: false, reason: `ELECTRON_OVERRIDE_DIST_PATH is ${override}, but ${path} is not an executable Electron binary` };
  }
  if (!existsSync(join(electronPackage, 'package.json'))) return { ok: false, reason: 'the electron package is not installed (npm ci)' };
  const path = executableIn(join(electronPackage, 'dist'), electronPackage);
  if (executable(path)) return { ok: true, value: path };
  return {
    ok: false,
    reason: `no Electron binary: ${path} does not exist, because electron's install script (which downloads the binary) has not run, `
      + 'and ELECTRON_OVERRIDE_DIST_PATH is not set. Electron cannot be downloaded on this machine; '
      + 'set ELECTRON_OVERRIDE_DIST_PATH to a folder holding an Electron 45 build to run this test.',
  };
}

export interface Display {
  env: Record<string, string>;
  stop(): void;
}

/** The display to run on: the session's own, or an Xvfb this test starts (Linux without one). */
export async function findDisplay(): Promise<Found<Display>> {
  if (process.platform !== 'linux' || process.env.DISPLAY || process.env.WAYLAND_DISPLAY) return { ok: true, value: { env: {}, stop: () => {} } };
  if (spawnSync('sh', ['-c', 'command -v Xvfb'], { stdio: 'ignore' }).status !== 0) {
    return { ok: false, reason: 'no display (DISPLAY and WAYLAND_DISPLAY are unset) and no Xvfb to make one (apt-get install xvfb)' };
  }
  for (let display = 99; display < 120; display += 1) {
    if (existsSync(`/tmp/.X11-unix/X${display}`) || existsSync(`/tmp/.X${display}-lock`)) continue;
    const xvfb: ChildProcess = spawn('Xvfb', [`:${display}`, '-screen', '0', '1440x900x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && xvfb.exitCode === null && !existsSync(`/tmp/.X11-unix/X${display}`)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (xvfb.exitCode === null && existsSync(`/tmp/.X11-unix/X${display}`)) {
      return { ok: true, value: { env: { DISPLAY: `:${display}` }, stop: () => xvfb.kill() } };
    }
    xvfb.kill();
  }
  return { ok: false, reason: 'Xvfb could not start a display between :99 and :119' };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves once nothing accepts connections on the port. */
export async function portClosed(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/v2/`, { signal: AbortSignal.timeout(2_000) });
    return false;
  } catch {
    return true;
  }
}
