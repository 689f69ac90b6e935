/**
 * The main-process end of the preload bridge: `layover:call` runs one
 * LayoverApi method for the dashboard, `layover:events` carries live events to
 * it. Every message's sender is checked to be the dashboard's own top frame
 * (checklist 17) and every call to name a LayoverApi method with one JSON
 * argument (ipc-protocol.ts decides both).
 */
import { ipcMain, type IpcMainEvent, type IpcMainInvokeEvent, type WebContents } from 'electron';
import type { Logger } from 'pino';
import type { LayoverApi } from '../api/layover-api.js';
import type { Settings } from '../api/types.js';
import { IPC_CALL, IPC_EVENTS, isSubscriptionMessage, isTrustedSender, parseCall, toCallError, type CallResult } from './ipc-protocol.js';

export interface IpcBridgeOptions {
  dashboardUrl: string;
  logger: Logger;
  /** The API of the moment, the running core's or the stopped one's; waits while the core is starting. */
  api(): Promise<LayoverApi>;
  /** The dashboard changed the settings: the shell follows (start at login). */
  onSettingsChanged(settings: Settings): void;
}

export class IpcBridge {
  private readonly subscriptions = new Map<number, { contents: WebContents; unsubscribe: () => void }>();

  constructor(private readonly options: IpcBridgeOptions) {
    ipcMain.handle(IPC_CALL, (event, method: unknown, arg: unknown, ...extra: unknown[]) => this.call(event, method, arg, extra));
    ipcMain.on(IPC_EVENTS, (event, message: unknown) => this.onSubscriptionMessage(event, message));
  }

  private trusted(event: IpcMainInvokeEvent | IpcMainEvent): boolean {
    const frame = event.senderFrame;
    const ok = isTrustedSender(frame ? { url: frame.url, isMainFrame: frame.parent === null } : null, this.options.dashboardUrl);
    if (!ok) this.options.logger.warn({ url: frame?.url.slice(0, 200) }, 'refused an IPC message from a page that is not the dashboard');
    return ok;
  }

  private async call(event: IpcMainInvokeEvent, method: unknown, arg: unknown, extra: unknown[]): Promise<CallResult> {
    if (!this.trusted(event)) {
      return { ok: false, error: { code: 'FORBIDDEN', status: 403, message: 'refused: this page is not the Layover dashboard' } };
    }
    const parsed = parseCall(method, arg, extra);
    if (!parsed.ok) return parsed;
    try {
      const api = await this.options.api();
      const value = await (api[parsed.method] as (arg: unknown) => Promise<unknown>)(parsed.arg);
      if (parsed.method === 'updateSettings') this.options.onSettingsChanged(value as Settings);
      return { ok: true, value };
    } catch (error) {
      return { ok: false, error: toCallError(error) };
    }
  }

  private onSubscriptionMessage(event: IpcMainEvent, message: unknown): void {
    if (!this.trusted(event) || !isSubscriptionMessage(message)) return;
    if (message === 'subscribe') this.subscribe(event.sender);
    else this.unsubscribe(event.sender.id);
  }

  private subscribe(contents: WebContents): void {
    const id = contents.id;
    const known = this.subscriptions.has(id);
    this.unsubscribe(id);
    const subscription = { contents, unsubscribe: () => {} };
    this.subscriptions.set(id, subscription);
    if (!known) contents.once('destroyed', () => this.unsubscribe(id));
    void this.connect(subscription);
  }

  /** Subscribes to the API of the moment, unless the subscription was dropped or replaced while waiting for it. */
  private async connect(subscription: { contents: WebContents; unsubscribe: () => void }): Promise<void> {
    const { contents } = subscription;
    try {
      const api = await this.options.api();
      if (contents.isDestroyed() || this.subscriptions.get(contents.id) !== subscription) return;
      subscription.unsubscribe = api.subscribe((event) => {
        if (!contents.isDestroyed()) contents.send(IPC_EVENTS, event);
      });
    } catch (error) {
      this.options.logger.warn({ err: error }, 'live updates are not available');
    }
  }

  private unsubscribe(id: number): void {
    this.subscriptions.get(id)?.unsubscribe();
    this.subscriptions.delete(id);
  }

  /** The API changed (the core restarted): subscribers follow the new one. */
  reattach(): void {
    for (const [id, old] of [...this.subscriptions]) {
      old.unsubscribe();
      if (old.contents.isDestroyed()) {
        this.subscriptions.delete(id);
        continue;
      }
      const subscription = { contents: old.contents, unsubscribe: () => {} };
      this.subscriptions.set(id, subscription);
      void this.connect(subscription);
    }
  }

  dispose(): void {
    ipcMain.removeHandler(IPC_CALL);
    ipcMain.removeAllListeners(IPC_EVENTS);
    for (const id of [...this.subscriptions.keys()]) this.unsubscribe(id);
  }
}
