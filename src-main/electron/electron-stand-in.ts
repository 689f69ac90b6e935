/**
 * A stand-in for the parts of Electron the shell's glue files use, for
 * shell.test.ts only: Electron's binary cannot be downloaded on the machines
 * this project is built on, so `require('electron')` fails outside Electron.
 * The test maps the specifier 'electron' to this module (a module resolve
 * hook), loads the glue files, and reads here what they handed to Electron.
 *
 * Typed against Electron's own declarations (types only; the electron package
 * is installed without its binary): every part implements the members it
 * stands for, `implements Pick<Electron…, 'member'>`, so a member Electron
 * renames or retypes is a type error here before it is a surprise at runtime.
 * Behaviour is copied from Electron where the glue depends on it (a second
 * ipcMain.handle on one channel throws; an unreadable image is empty; closing
 * a window can be prevented; before-quit can be prevented).
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { register } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  App, BrowserWindowConstructorOptions, Clipboard, ContextBridge, DecryptStringAsyncReturnValue, Dialog,
  HandlerDetails, IpcMain, IpcMainInvokeEvent, IpcRenderer, LoadFileOptions, LoginItemSettings, Menu as ElectronMenu,
  MenuItem, MenuItemConstructorOptions, NativeImage, NativeTheme, Notification as ElectronNotification,
  NotificationConstructorOptions, OpenExternalOptions, SafeStorage, Session as ElectronSession, Settings as LoginSettings, Shell,
  Tray as ElectronTray, WebContents as ElectronWebContents, WebRequest as ElectronWebRequest, WebRequestFilter, WindowOpenHandlerResponse,
  BrowserWindow as ElectronBrowserWindow, nativeImage as ElectronNativeImage,
} from 'electron';

/** The listener-only overload of a webRequest hook, the form the glue uses. */
type BeforeRequestListener = Parameters<ElectronWebRequest['onBeforeRequest']>[0] extends infer L ? Exclude<Extract<L, (...args: never[]) => unknown>, null> : never;
type HeadersReceivedListener = Parameters<ElectronWebRequest['onHeadersReceived']>[0] extends infer L ? Exclude<Extract<L, (...args: never[]) => unknown>, null> : never;
type PermissionRequestHandler = Exclude<Parameters<ElectronSession['setPermissionRequestHandler']>[0], null>;
type PermissionCheckHandler = Exclude<Parameters<ElectronSession['setPermissionCheckHandler']>[0], null>;
type DevicePermissionHandler = Exclude<Parameters<ElectronSession['setDevicePermissionHandler']>[0], null>;
type DisplayMediaRequestHandler = Exclude<Parameters<ElectronSession['setDisplayMediaRequestHandler']>[0], null>;
type InvokeHandler = (event: IpcMainInvokeEvent, ...args: any[]) => Promise<any> | any; // eslint-disable-line @typescript-eslint/no-explicit-any
type StorageBackend = ReturnType<SafeStorage['getSelectedStorageBackend']>;

/** An event the glue may call preventDefault on, as Electron hands it over. */
export interface PreventableEvent {
  defaultPrevented: boolean;
  preventDefault(): void;
}

export function preventableEvent<T extends object>(fields: T = {} as T): T & PreventableEvent {
  const event = {
    ...fields,
    defaultPrevented: false,
    preventDefault() {
      event.defaultPrevented = true;
    },
  };
  return event;
}

/**
 * Makes every later `import … from 'electron'` in this process (the glue
 * files, electron-store) load this module instead of the electron package,
 * through a module resolve hook. Call it before importing any glue file; the
 * glue files must then be imported dynamically.
 */
export function routeElectronToStandIn(): void {
  const standIn = import.meta.url;
  const hook = `export async function resolve(specifier, context, next) {
    return specifier === 'electron' ? { url: ${JSON.stringify(standIn)}, shortCircuit: true } : next(specifier, context);
  }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
}

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

// ---------------------------------------------------------------- app

class StandInApp extends EventEmitter implements Pick<App,
  'setPath' | 'getPath' | 'enableSandbox' | 'setAppUserModelId' | 'requestSingleInstanceLock' | 'quit' | 'exit'
  | 'whenReady' | 'getAppPath' | 'getVersion' | 'setLoginItemSettings' | 'getLoginItemSettings' | 'isPackaged'> {
  isPackaged = false;
  readonly paths = new Map<string, string>();
  sandboxEnabled = false;
  appUserModelId?: string;
  singleInstanceLockRequests = 0;
  readonly loginItemSettingsSet: LoginSettings[] = [];
  wasOpenedAtLogin = false;
  /** Quits that went through (before-quit not prevented). */
  quits = 0;
  exitCode?: number;
  private readonly ready = deferred();
  private readonly quitted = deferred();

  setPath(name: string, path: string): void {
    this.paths.set(name, path);
  }

  getPath(name: Parameters<App['getPath']>[0]): string {
    return this.paths.get(name) ?? join(tmpdir(), 'layover-electron-stand-in', name);
  }

  enableSandbox(): void {
    this.sandboxEnabled = true;
  }

  setAppUserModelId(id: string): void {
    this.appUserModelId = id;
  }

  requestSingleInstanceLock(): boolean {
    this.singleInstanceLockRequests += 1;
    return true;
  }

  whenReady(): Promise<void> {
    return this.ready.promise;
  }

  /** Test side: Electron finished starting. */
  becomeReady(): void {
    this.emit('ready', preventableEvent(), {});
    this.ready.resolve();
  }

  /** Like Electron: 'before-quit' first, and a handler that prevents it keeps the app running. */
  quit(): void {
    const event = preventableEvent();
    this.emit('before-quit', event);
    if (event.defaultPrevented) return;
    this.quits += 1;
    this.emit('will-quit', preventableEvent());
    this.quitted.resolve();
  }

  /** Resolves at the first quit that was not prevented. */
  whenQuit(): Promise<void> {
    return this.quitted.promise;
  }

  exit(exitCode?: number): void {
    this.exitCode = exitCode ?? 0;
    this.quitted.resolve();
  }

  getAppPath(): string {
    return process.cwd();
  }

  getVersion(): string {
    return '0.0.0-stand-in';
  }

  setLoginItemSettings(settings: LoginSettings): void {
    this.loginItemSettingsSet.push(settings);
  }

  getLoginItemSettings(): LoginItemSettings {
    const last = this.loginItemSettingsSet.at(-1);
    return { openAtLogin: last?.openAtLogin ?? false, wasOpenedAtLogin: this.wasOpenedAtLogin, status: 'not-registered', executableWillLaunchAtLogin: false, launchItems: [] };
  }
}

// ---------------------------------------------------------------- IPC

class StandInIpcMain extends EventEmitter implements Pick<IpcMain, 'handle' | 'removeHandler'> {
  readonly handlers = new Map<string, InvokeHandler>();

  handle(channel: string, listener: InvokeHandler): void {
    // Electron refuses a second handler for a channel; so does the stand-in, which makes a missing dispose() visible.
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, listener);
  }

  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
}

/** The frame an IPC message comes from, as Electron reports it on event.senderFrame. */
export interface SenderFrame {
  url: string;
  /** null for a top frame. */
  parent: object | null;
}

/**
 * The renderer side: what the preload's ipcRenderer talks to. Messages go to
 * ipcMain as if from `page.contents`, with `page.frame` as their sender frame,
 * the way Electron delivers them; what the main process sends to
 * `page.contents` arrives at ipcRenderer's listeners.
 */
class StandInIpcRenderer extends EventEmitter implements Pick<IpcRenderer, 'invoke' | 'send'> {
  page: { contents: StandInWebContents; frame: SenderFrame } = { contents: new StandInWebContents(), frame: { url: 'about:blank', parent: null } };

  private event(): IpcMainInvokeEvent {
    const { contents, frame } = this.page;
    return { sender: contents, senderFrame: frame, processId: 1, frameId: 1 } as unknown as IpcMainInvokeEvent;
  }

  async invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    const handler = ipcMain.handlers.get(channel);
    if (!handler) throw new Error(`Error invoking remote method '${channel}': Error: No handler registered for '${channel}'`);
    // IPC carries a structured clone each way, never the caller's objects.
    return structuredClone(await handler(this.event(), ...structuredClone(args)));
  }

  send(channel: string, ...args: unknown[]): void {
    ipcMain.emit(channel, this.event(), ...structuredClone(args));
  }
}

class StandInContextBridge implements Pick<ContextBridge, 'exposeInMainWorld'> {
  readonly exposed = new Map<string, unknown>();

  exposeInMainWorld(apiKey: string, api: unknown): void {
    this.exposed.set(apiKey, api);
  }
}

// ---------------------------------------------------------------- web contents, windows

let nextContentsId = 1;

class StandInWebContents extends EventEmitter implements Pick<ElectronWebContents, 'id' | 'reload' | 'send' | 'isDestroyed' | 'setWindowOpenHandler'> {
  readonly id = nextContentsId++;
  reloads = 0;
  readonly sent: Array<{ channel: string; args: unknown[] }> = [];
  windowOpenHandler?: (details: HandlerDetails) => WindowOpenHandlerResponse;
  private destroyed = false;

  reload(): void {
    this.reloads += 1;
  }

  /** Delivered to the stand-in renderer when it is the page there, as Electron delivers to the page's ipcRenderer. */
  send(channel: string, ...args: unknown[]): void {
    this.sent.push({ channel, args });
    if (ipcRenderer.page.contents === this) ipcRenderer.emit(channel, preventableEvent(), ...structuredClone(args));
  }

  isDestroyed(): boolean {
    return this.destroyed;
  }

  setWindowOpenHandler(handler: (details: HandlerDetails) => WindowOpenHandlerResponse): void {
    this.windowOpenHandler = handler;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.emit('destroyed');
  }
}

class StandInBrowserWindow extends EventEmitter implements Pick<ElectronBrowserWindow,
  'loadFile' | 'show' | 'hide' | 'focus' | 'isVisible' | 'isMinimized' | 'restore' | 'isDestroyed' | 'destroy' | 'close'> {
  static readonly all: StandInBrowserWindow[] = [];
  readonly webContents = new StandInWebContents();
  readonly loads: Array<{ filePath: string; options: LoadFileOptions | undefined }> = [];
  private visible = false;
  private destroyed = false;

  constructor(readonly options: BrowserWindowConstructorOptions = {}) {
    super();
    StandInBrowserWindow.all.push(this);
    // Electron announces every web contents it makes: session-security guards them there.
    app.emit('web-contents-created', preventableEvent(), this.webContents);
  }

  static getAllWindows(): ElectronBrowserWindow[] {
    return StandInBrowserWindow.all.filter((window) => !window.isDestroyed()) as unknown as ElectronBrowserWindow[];
  }

  /** Loads, then (once, like Electron after the first paint) 'ready-to-show'. */
  async loadFile(filePath: string, options?: LoadFileOptions): Promise<void> {
    this.loads.push({ filePath, options });
    if (this.loads.length === 1) setImmediate(() => this.emit('ready-to-show', preventableEvent()));
  }

  show(): void {
    this.visible = true;
  }

  hide(): void {
    this.visible = false;
  }

  focus(): void {}

  isVisible(): boolean {
    return this.visible;
  }

  isMinimized(): boolean {
    return false;
  }

  restore(): void {}

  isDestroyed(): boolean {
    return this.destroyed;
  }

  /** Like the close button: 'close' can be prevented; if not, the window goes. */
  close(): void {
    const event = preventableEvent();
    this.emit('close', event);
    if (!event.defaultPrevented) this.destroy();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.visible = false;
    this.webContents.destroy();
    this.emit('closed');
  }
}

// ---------------------------------------------------------------- session

/** Each hook keeps its listener and its filter (none: every request of the session). */
class StandInWebRequest implements Pick<ElectronWebRequest, 'onBeforeRequest' | 'onHeadersReceived'> {
  beforeRequest?: { listener: BeforeRequestListener; filter?: WebRequestFilter };
  headersReceived?: { listener: HeadersReceivedListener; filter?: WebRequestFilter };

  onBeforeRequest(filter: WebRequestFilter, listener: BeforeRequestListener | null): void;
  onBeforeRequest(listener: BeforeRequestListener | null): void;
  onBeforeRequest(...args: [WebRequestFilter, BeforeRequestListener | null] | [BeforeRequestListener | null]): void {
    this.beforeRequest = hook(args);
  }

  onHeadersReceived(filter: WebRequestFilter, listener: HeadersReceivedListener | null): void;
  onHeadersReceived(listener: HeadersReceivedListener | null): void;
  onHeadersReceived(...args: [WebRequestFilter, HeadersReceivedListener | null] | [HeadersReceivedListener | null]): void {
    this.headersReceived = hook(args);
  }
}

function hook<L>(args: [WebRequestFilter, L | null] | [L | null]): { listener: L; filter?: WebRequestFilter } | undefined {
  const [filter, listener] = args.length === 2 ? args : [undefined, args[0]];
  if (!listener) return undefined;
  return filter ? { listener, filter } : { listener };
}

class StandInSession implements Pick<ElectronSession,
  'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'setDevicePermissionHandler' | 'setDisplayMediaRequestHandler' | 'setSpellCheckerEnabled'> {
  readonly webRequest = new StandInWebRequest();
  permissionRequestHandler?: PermissionRequestHandler;
  permissionCheckHandler?: PermissionCheckHandler;
  devicePermissionHandler?: DevicePermissionHandler;
  displayMediaRequestHandler?: DisplayMediaRequestHandler;
  spellCheckerEnabled = true;

  setPermissionRequestHandler(handler: PermissionRequestHandler | null): void {
    this.permissionRequestHandler = handler ?? undefined;
  }

  setPermissionCheckHandler(handler: PermissionCheckHandler | null): void {
    this.permissionCheckHandler = handler ?? undefined;
  }

  setDevicePermissionHandler(handler: DevicePermissionHandler | null): void {
    this.devicePermissionHandler = handler ?? undefined;
  }

  setDisplayMediaRequestHandler(handler: DisplayMediaRequestHandler | null): void {
    this.displayMediaRequestHandler = handler ?? undefined;
  }

  setSpellCheckerEnabled(enable: boolean): void {
    this.spellCheckerEnabled = enable;
  }
}

// ---------------------------------------------------------------- menus, tray, images

/** A built menu: the template it was built from, which is what the glue decides. */
export class StandInMenu {
  constructor(readonly template: ReadonlyArray<MenuItemConstructorOptions | MenuItem>) {}

  static applicationMenu: ElectronMenu | null | undefined;

  static buildFromTemplate(template: Array<MenuItemConstructorOptions | MenuItem>): ElectronMenu {
    return new StandInMenu(template) as unknown as ElectronMenu;
  }

  static setApplicationMenu(menu: ElectronMenu | null): void {
    StandInMenu.applicationMenu = menu;
  }
}

/** The template of a menu the glue built with Menu.buildFromTemplate. */
export function templateOf(menu: ElectronMenu | null | undefined): MenuItemConstructorOptions[] {
  if (!(menu instanceof StandInMenu)) throw new Error('not a menu built by the stand-in');
  return menu.template as MenuItemConstructorOptions[];
}

/** An image read from a file: empty when the file is missing or unreadable, as nativeImage.createFromPath is. */
class StandInImage implements Pick<NativeImage, 'isEmpty' | 'setTemplateImage' | 'isTemplateImage'> {
  private readonly empty: boolean;
  private template = false;

  constructor(readonly path: string) {
    this.empty = !readable(path);
  }

  isEmpty(): boolean {
    return this.empty;
  }

  setTemplateImage(option: boolean): void {
    this.template = option;
  }

  isTemplateImage(): boolean {
    return this.template;
  }
}

function readable(path: string): boolean {
  try {
    return readFileSync(path).length > 0;
  } catch {
    return false;
  }
}

export function imagePath(image: NativeImage | string): string {
  return typeof image === 'string' ? image : (image as unknown as StandInImage).path;
}

class StandInTray extends EventEmitter implements Pick<ElectronTray, 'setImage' | 'setToolTip' | 'setContextMenu' | 'isDestroyed' | 'destroy'> {
  static readonly all: StandInTray[] = [];
  image: NativeImage | string;
  toolTip = '';
  contextMenu: ElectronMenu | null = null;
  /** How often setContextMenu was called: Linux trays only pick a changed menu up through it. */
  contextMenuSets = 0;
  private destroyed = false;

  constructor(image: NativeImage | string, readonly guid?: string) {
    super();
    this.image = image;
    StandInTray.all.push(this);
  }

  setImage(image: NativeImage | string): void {
    this.image = image;
  }

  setToolTip(toolTip: string): void {
    this.toolTip = toolTip;
  }

  setContextMenu(menu: ElectronMenu | null): void {
    this.contextMenu = menu;
    this.contextMenuSets += 1;
  }

  isDestroyed(): boolean {
    return this.destroyed;
  }

  destroy(): void {
    this.destroyed = true;
  }
}

// ---------------------------------------------------------------- notifications

class StandInNotification extends EventEmitter implements Pick<ElectronNotification, 'show' | 'close'> {
  static supported = true;
  static readonly all: StandInNotification[] = [];
  shown = false;
  closed = false;

  constructor(readonly options: NotificationConstructorOptions = {}) {
    super();
    StandInNotification.all.push(this);
  }

  static isSupported(): boolean {
    return StandInNotification.supported;
  }

  show(): void {
    this.shown = true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', preventableEvent());
  }
}

// ---------------------------------------------------------------- safeStorage, clipboard, shell, dialog

/**
 * safeStorage with a backend the test picks. Encryption is a reversible
 * marking, enough to tell a stored secret from the plain text.
 */
class StandInSafeStorage implements Pick<SafeStorage, 'isAsyncEncryptionAvailable' | 'getSelectedStorageBackend' | 'encryptStringAsync' | 'decryptStringAsync'> {
  backend: StorageBackend = 'basic_text';
  available = true;
  encryptions = 0;
  decryptions = 0;

  async isAsyncEncryptionAvailable(): Promise<boolean> {
    return this.available;
  }

  getSelectedStorageBackend(): StorageBackend {
    return this.backend;
  }

  async encryptStringAsync(plainText: string): Promise<Buffer> {
    this.encryptions += 1;
    return Buffer.from(`stand-in:${Buffer.from(plainText).toString('hex')}`);
  }

  async decryptStringAsync(encrypted: Buffer): Promise<DecryptStringAsyncReturnValue> {
    this.decryptions += 1;
    const text = encrypted.toString();
    if (!text.startsWith('stand-in:')) throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
    return { result: Buffer.from(text.slice('stand-in:'.length), 'hex').toString(), shouldReEncrypt: false };
  }
}

class StandInClipboard implements Pick<Clipboard, 'writeText'> {
  readonly written: string[] = [];

  async writeText(text: string): Promise<void> {
    this.written.push(text);
  }
}

class StandInShell implements Pick<Shell, 'openExternal' | 'openPath'> {
  readonly openedExternal: string[] = [];

  async openExternal(url: string, _options?: OpenExternalOptions): Promise<void> {
    this.openedExternal.push(url);
  }

  async openPath(_path: string): Promise<string> {
    return '';
  }
}

class StandInDialog implements Pick<Dialog, 'showErrorBox'> {
  readonly errorBoxes: Array<{ title: string; content: string }> = [];

  showErrorBox(title: string, content: string): void {
    this.errorBoxes.push({ title, content });
  }
}

// ---------------------------------------------------------------- the module's exports, named as Electron names them

export const app = new StandInApp();
export const ipcMain = new StandInIpcMain();
export const ipcRenderer = new StandInIpcRenderer();
export const contextBridge = new StandInContextBridge();
export const session = { defaultSession: new StandInSession() };
export const Menu = StandInMenu satisfies Pick<typeof ElectronMenu, 'buildFromTemplate' | 'setApplicationMenu'>;
// Each class takes what Electron's constructor takes, and has the statics the glue calls.
export const Tray = StandInTray satisfies new (...args: ConstructorParameters<typeof ElectronTray>) => unknown;
export const BrowserWindow = StandInBrowserWindow satisfies (new (...args: ConstructorParameters<typeof ElectronBrowserWindow>) => unknown) & Pick<typeof ElectronBrowserWindow, 'getAllWindows'>;
export const Notification = StandInNotification satisfies (new (...args: ConstructorParameters<typeof ElectronNotification>) => unknown) & Pick<typeof ElectronNotification, 'isSupported'>;
export const nativeImage = {
  createFromPath: (path: string): NativeImage => new StandInImage(path) as unknown as NativeImage,
} satisfies Pick<typeof ElectronNativeImage, 'createFromPath'>;
export const nativeTheme: Pick<NativeTheme, 'shouldUseDarkColors'> = { shouldUseDarkColors: false };
export const safeStorage = new StandInSafeStorage();
export const clipboard = new StandInClipboard();
export const shell = new StandInShell();
export const dialog = new StandInDialog();
export const powerMonitor = new EventEmitter();

export type { StandInBrowserWindow, StandInNotification, StandInSession, StandInTray, StandInWebContents };

/** electron-store reads `import electron from 'electron'`: the same parts as a default export. */
export default {
  app, ipcMain, ipcRenderer, contextBridge, session, Menu, Tray, BrowserWindow, Notification,
  nativeImage, nativeTheme, safeStorage, clipboard, shell, dialog, powerMonitor,
};
