/**
 * Start at login, per platform: login items on macOS and Windows, an XDG
 * autostart entry on Linux. Glue only; autostart.ts decides the command and
 * writes the entry's text.
 */
import { app } from 'electron';
import { mkdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { launchCommand, loginItemSettings, startsHidden, xdgAutostartEntry, xdgAutostartPath } from './autostart.js';

function command(): string[] {
  return launchCommand({ execPath: process.execPath, isPackaged: app.isPackaged, appPath: app.getAppPath(), env: process.env });
}

export async function applyStartAtLogin(enabled: boolean): Promise<void> {
  if (process.platform === 'linux') {
    const path = xdgAutostartPath(process.env, homedir());
    if (!enabled) {
      await rm(path, { force: true });
      return;
    }
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, xdgAutostartEntry({
      command: command(),
      name: 'Layover',
      comment: 'Pull-through registry cache for slow-link offices',
      icon: app.isPackaged ? 'layover' : 'application-x-executable',
    }), { mode: 0o644 });
    return;
  }
  app.setLoginItemSettings(loginItemSettings(process.platform, enabled, command()));
}

/** Whether this launch is the OS starting Layover at login (or someone asking for the tray only). */
export function launchedHidden(): boolean {
  const wasOpenedAtLogin = process.platform === 'darwin' ? app.getLoginItemSettings().wasOpenedAtLogin === true : false;
  return startsHidden(process.argv, wasOpenedAtLogin);
}
