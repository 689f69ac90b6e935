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
  /** Required when the admin listener is not on loopback. */
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
    const query = options.token ? `?token=${encodeURIComponent(options.token)}` : '';
    const source = new EventSourceImpl(`${options.baseUrl}${EVENTS_PATH}${query}`);
    source.onmessage = (message) => listener(JSON.parse(message.data) as LayoverEvent);
    return () => source.close();
  };
  return api as LayoverApi;
}
