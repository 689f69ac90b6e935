/**
 * The IPC contract between the dashboard's preload bridge and the main
 * process. Pure: the preload (bundled to CommonJS for a sandboxed renderer)
 * and the main process both import it, and so do the unit tests. No Node or
 * Electron import may appear here: a sandboxed preload cannot load them.
 *
 * Two channels only:
 * - `layover:call`: invoke(method, arg) → CallResult. The method must be one
 *   of LAYOVER_METHODS and the argument one JSON value.
 * - `layover:events`: the renderer sends 'subscribe' / 'unsubscribe'; the main
 *   process sends LayoverEvents back on the same channel.
 */
import type { LayoverApi, LayoverMethod } from '../api/layover-api.js';
import { LAYOVER_METHODS } from '../api/layover-api.js';
import type { LayoverEvent } from '../api/types.js';

export const IPC_CALL = 'layover:call';
export const IPC_EVENTS = 'layover:events';

export type SubscriptionMessage = 'subscribe' | 'unsubscribe';

/** What a call returns over IPC: errors travel as data so their words reach the dashboard unchanged. */
export type CallResult =
  | { ok: true; value: unknown }
  | { ok: false; error: CallError };

export interface CallError {
  message: string;
  /** e.g. NOT_AVAILABLE, BAD_REQUEST, CORE_NOT_RUNNING; INTERNAL when the error named none. */
  code: string;
  /** The HTTP-like status the headless API would have answered with. */
  status: number;
}

const METHODS: ReadonlySet<string> = new Set(LAYOVER_METHODS);

export function isLayoverMethod(value: unknown): value is LayoverMethod {
  return typeof value === 'string' && METHODS.has(value);
}

export function isSubscriptionMessage(value: unknown): value is SubscriptionMessage {
  return value === 'subscribe' || value === 'unsubscribe';
}

/** Deep enough for any settings object; deeper than this is not a LayoverApi argument. */
const MAX_DEPTH = 32;

/**
 * True for a value JSON can carry as it is: null, booleans, finite numbers,
 * strings, arrays and plain objects of those. Structured clone (what IPC
 * uses) also carries Dates, Maps, typed arrays and cycles, which the HTTP
 * transport could not, so the IPC transport refuses them too.
 */
export function isJsonValue(value: unknown, depth = 0): boolean {
  if (depth > MAX_DEPTH) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((item) => isJsonValue(item, depth + 1));
  if (typeof value === 'object') {
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) return false;
    return Object.values(value).every((item) => item === undefined || isJsonValue(item, depth + 1));
  }
  return false;
}

export type ParsedCall =
  | { ok: true; method: LayoverMethod; arg: unknown }
  | { ok: false; error: CallError };

/** Checks one `layover:call` request: a known method and at most one JSON argument. */
export function parseCall(method: unknown, arg: unknown, extra: readonly unknown[] = []): ParsedCall {
  if (!isLayoverMethod(method)) {
    return { ok: false, error: { code: 'BAD_REQUEST', status: 400, message: `unknown Layover method ${JSON.stringify(String(method)).slice(0, 80)}` } };
  }
  if (extra.length > 0) {
    return { ok: false, error: { code: 'BAD_REQUEST', status: 400, message: `${method} takes one argument, got ${1 + extra.length}` } };
  }
  if (arg !== undefined && !isJsonValue(arg)) {
    return { ok: false, error: { code: 'BAD_REQUEST', status: 400, message: `the argument of ${method} must be plain JSON` } };
  }
  return { ok: true, method, arg };
}

/** Turns anything thrown by the API into the error a person reads in the dashboard. */
export function toCallError(error: unknown): CallError {
  if (error instanceof Error) {
    const { code, status } = error as Error & { code?: unknown; status?: unknown };
    return {
      message: error.message || error.name,
      code: typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code) ? code : 'INTERNAL',
      status: typeof status === 'number' && status >= 400 && status < 600 ? status : 500,
    };
  }
  return { message: String(error), code: 'INTERNAL', status: 500 };
}

/** The error the dashboard sees: the same shape as the HTTP client's LayoverApiError. */
export class BridgeError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(error: CallError) {
    super(error.message);
    this.name = 'LayoverApiError';
    this.code = error.code;
    this.status = error.status;
  }
}

export function unwrapCallResult(result: unknown): unknown {
  if (typeof result !== 'object' || result === null || typeof (result as { ok?: unknown }).ok !== 'boolean') {
    throw new BridgeError({ message: 'the desktop shell answered with something that is not a call result', code: 'INTERNAL', status: 500 });
  }
  const envelope = result as CallResult;
  if (envelope.ok) return envelope.value;
  throw new BridgeError(envelope.error);
}

/**
 * Whether an IPC message comes from the dashboard itself: the top frame of a
 * page loaded from the app's own index.html over file://. Anything else (a
 * subframe, a page navigated elsewhere, a file:// page that is not ours, a
 * UNC host) is refused. Query and hash are the dashboard's routing and ignored.
 */
export function isTrustedSender(frame: { url: string; isMainFrame: boolean } | null | undefined, dashboardUrl: string): boolean {
  if (!frame || !frame.isMainFrame) return false;
  let sender: URL;
  let expected: URL;
  try {
    sender = new URL(frame.url);
    expected = new URL(dashboardUrl);
  } catch {
    return false;
  }
  return sender.protocol === 'file:' && expected.protocol === 'file:' && sender.host === '' && expected.host === ''
    && sender.pathname === expected.pathname;
}

/** What the preload needs from ipcRenderer, so that the bridge itself is testable without Electron. */
export interface BridgeTransport {
  invoke(channel: typeof IPC_CALL, method: LayoverMethod, arg: unknown): Promise<unknown>;
  send(channel: typeof IPC_EVENTS, message: SubscriptionMessage): void;
  /** Registers the one handler for events from the main process. */
  onEvent(handler: (event: LayoverEvent) => void): void;
  /** Where a listener's own exception goes (the renderer's console). */
  reportListenerError(error: unknown): void;
}

/**
 * The object the preload exposes as `window.layover`: LayoverApi's methods
 * and subscribe, nothing else. One subscription to the main process is held
 * while at least one listener is registered.
 */
export function createBridgeApi(transport: BridgeTransport): LayoverApi {
  const listeners = new Set<(event: LayoverEvent) => void>();
  transport.onEvent((event) => {
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (error) {
        transport.reportListenerError(error);
      }
    }
  });
  const api: Record<string, unknown> = {};
  for (const method of LAYOVER_METHODS) {
    api[method] = async (arg?: unknown) => {
      if (arg !== undefined && !isJsonValue(arg)) {
        throw new BridgeError({ message: `the argument of ${method} must be plain JSON`, code: 'BAD_REQUEST', status: 400 });
      }
      return unwrapCallResult(await transport.invoke(IPC_CALL, method, arg));
    };
  }
  api.subscribe = (listener: (event: LayoverEvent) => void): (() => void) => {
    if (typeof listener !== 'function') throw new TypeError('subscribe expects a function');
    listeners.add(listener);
    if (listeners.size === 1) transport.send(IPC_EVENTS, 'subscribe');
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      listeners.delete(listener);
      if (listeners.size === 0) transport.send(IPC_EVENTS, 'unsubscribe');
    };
  };
  return Object.freeze(api) as unknown as LayoverApi;
}
