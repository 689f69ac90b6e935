import type { LayoverApi, LayoverMethod } from './layover-api.js';
import { LAYOVER_METHODS } from './layover-api.js';
import type { LayoverEvent } from './types.js';

/**
 * The wire protocol of the headless control API, shared by the server
 * (src-main/control) and this client: one POST per method, one SSE stream.
 */
export const API_PREFIX = '/api/v1';
export const callPath = (method: LayoverMethod): string => `${API_PREFIX}/call/${method}`;
export const EVENTS_PATH = `${API_PREFIX}/events`;
/** The browser dashboard logs in by opening LOGIN_PATH?code=… (a one-time code); tools ask LOGIN_URL_PATH for one. */
export const LOGIN_PATH = '/login';
export const LOGIN_URL_PATH = `${API_PREFIX}/login-url`;

/** The error body of a failed call: what went wrong, in words a person can act on. */
export interface ApiErrorBody {
  error: { message: string; code: string };
}

export class LayoverApiError extends Error {
  constructor(message: string, readonly code: string, readonly status: number) {
    super(message);
    this.name = 'LayoverApiError';
  }
}

export interface HttpClientOptions {
  /** e.g. "http://127.0.0.1:5051"; "" means the page's own origin (the dashboard). */
  baseUrl: string;
  /** The instance's admin token (the CLI); the dashboard in a browser has a session cookie instead. */
  token?: string;
  fetchImpl?: typeof fetch;
  /** The EventSource constructor; in Node 20 there is none, so subscribe() is unavailable there. */
  eventSourceImpl?: typeof EventSource;
}

/** A LayoverApi that talks to a running instance over HTTP + Server-Sent Events. */
export function createHttpClient(options: HttpClientOptions): LayoverApi {
  const fetchImpl = options.fetchImpl ?? fetch;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;

  const call = async (method: LayoverMethod, arg: unknown): Promise<unknown> => {
    const response = await fetchImpl(`${options.baseUrl}${callPath(method)}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(arg ?? null),
    });
    const text = await response.text();
    const body = text ? JSON.parse(text) : undefined;
    if (!response.ok) {
      const error = (body as ApiErrorBody | undefined)?.error;
      throw new LayoverApiError(error?.message ?? `HTTP ${response.status}`, error?.code ?? 'HTTP_ERROR', response.status);
    }
    return body;
  };

  const api: Partial<Record<keyof LayoverApi, unknown>> = {};
  for (const method of LAYOVER_METHODS) api[method] = (arg?: unknown) => call(method, arg);
  api.subscribe = (listener: (event: LayoverEvent) => void) => {
    const EventSourceImpl = options.eventSourceImpl ?? globalThis.EventSource;
    if (!EventSourceImpl) throw new Error('live updates need EventSource, which this runtime lacks');
    // Only the dashboard subscribes, and it is logged in by its session cookie (EventSource cannot send headers).
    const source = new EventSourceImpl(`${options.baseUrl}${EVENTS_PATH}`);
    source.onmessage = (message) => listener(JSON.parse(message.data) as LayoverEvent);
    return () => source.close();
  };
  return api as LayoverApi;
}

/** A fresh one-time login URL for the browser dashboard (`layover dashboard`). */
export async function requestLoginUrl(options: Pick<HttpClientOptions, 'baseUrl' | 'token' | 'fetchImpl'>): Promise<string> {
  const response = await (options.fetchImpl ?? fetch)(`${options.baseUrl}${LOGIN_URL_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
    body: 'null',
  });
  const body = (await response.json().catch(() => undefined)) as { url?: string; error?: ApiErrorBody['error'] } | undefined;
  if (!response.ok || !body?.url) throw new LayoverApiError(body?.error?.message ?? `HTTP ${response.status}`, body?.error?.code ?? 'HTTP_ERROR', response.status);
  return body.url;
}
