/**
 * The tray icon: draws a TrayView (appearance + menu model) with Electron's
 * Tray and Menu. Glue only; what to show is decided in tray-state.ts and
 * tray-menu.ts, and kept current by tray-controller.ts.
 */
import { Menu, nativeImage, Tray, type MenuItemConstructorOptions, type NativeImage } from 'electron';
import { join } from 'node:path';
import type { TrayView } from './tray-controller.js';
import { trayIconFile } from './tray-icons.js';
import type { MenuEntry, TrayAction } from './tray-menu.js';
import { TRAY_STATES, type TrayState } from './tray-state.js';

export class LayoverTray {
  private readonly tray: Tray;
  private readonly icons: Map<TrayState, NativeImage>;

  constructor(iconsDir: string, private readonly onAction: (action: TrayAction) => void) {
    this.icons = new Map(TRAY_STATES.map((state) => [state, loadIcon(iconsDir, state)]));
    this.tray = new Tray(this.icons.get('ready')!);
    this.tray.setToolTip('Layover: starting…');
    // Windows and most Linux trays: a left click opens the dashboard; the menu is on the right button.
    if (process.platform !== 'darwin') this.tray.on('click', () => this.onAction('open-dashboard'));
  }

  render(view: TrayView): void {
    if (this.tray.isDestroyed()) return;
    this.tray.setImage(this.icons.get(view.appearance.state)!);
    this.tray.setToolTip(view.appearance.tooltip);
    // Linux (StatusNotifierItem) only picks a changed menu up through setContextMenu, so it is always set anew.
    this.tray.setContextMenu(Menu.buildFromTemplate(view.menu.map((entry) => this.item(entry))));
  }

  private item(entry: MenuEntry): MenuItemConstructorOptions {
    switch (entry.kind) {
      case 'status':
        return { label: entry.label, enabled: false };
      case 'separator':
        return { type: 'separator' };
      case 'action':
        return { label: entry.label, enabled: entry.enabled, click: () => this.onAction(entry.action) };
      case 'checkbox':
        return { type: 'checkbox', label: entry.label, checked: entry.checked, enabled: entry.enabled, click: () => this.onAction(entry.action) };
    }
  }

  destroy(): void {
    if (!this.tray.isDestroyed()) this.tray.destroy();
  }
}

function loadIcon(iconsDir: string, state: TrayState): NativeImage {
  const path = join(iconsDir, trayIconFile(state, process.platform));
  const image = nativeImage.createFromPath(path);
  if (image.isEmpty()) throw new Error(`the tray icon ${path} is missing or unreadable`);
  // The file name says Template already; setting it too keeps it so when loaded from elsewhere.
  if (process.platform === 'darwin') image.setTemplateImage(true);
  return image;
}
