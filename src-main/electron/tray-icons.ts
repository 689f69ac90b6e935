/**
 * Which file in assets/tray (resources/tray when packaged) is the tray icon
 * for a state on a platform. assets/make-icons.ts draws them; the names here
 * are the contract between the two. Pure.
 *
 * - macOS: template images (black and alpha; the menu bar tints them), 16 px
 *   and @2x; Electron treats a file whose name ends in "Template" as one.
 * - Windows: .ico holding 16, 20, 24, 32 and 48 px for every display scale.
 * - Linux: PNG at 32 px and @2x.
 */
import { TRAY_STATES, type TrayState } from './tray-state.js';

export type IconPlatform = 'darwin' | 'win32' | 'linux';

export function iconPlatform(platform: string): IconPlatform {
  return platform === 'darwin' || platform === 'win32' ? platform : 'linux';
}

export function trayIconFile(state: TrayState, platform: string): string {
  switch (iconPlatform(platform)) {
    case 'darwin':
      return `${state}Template.png`;
    case 'win32':
      return `${state}.ico`;
    case 'linux':
      return `${state}.png`;
  }
}

/** Pixel sizes of each file, for the generator and the tests that check its output. */
export const TRAY_ICON_SIZES = {
  darwin: { '': 16, '@2x': 32 },
  linux: { '': 32, '@2x': 64 },
  win32: [16, 20, 24, 32, 48],
} as const;

/** Every file the tray may load: the list electron-builder ships and the tests check. */
export function allTrayIconFiles(): string[] {
  return TRAY_STATES.flatMap((state) => [
    `${state}Template.png`, `${state}Template@2x.png`,
    `${state}.png`, `${state}@2x.png`,
    `${state}.ico`,
  ]);
}
