import type { LayoverApi } from '../../src-main/api/layover-api.js';
import { LAYOVER_METHODS } from '../../src-main/api/layover-api.js';
import { createHttpClient } from '../../src-main/api/http-client.js';

declare global {
  interface Window {
    /** The Electron preload bridge: LayoverApi's methods plus subscribe. Absent in a browser. */
    layover?: LayoverApi;
  }
}

export interface Transport {
  api: LayoverApi;
  kind: 'ipc' | 'http';
}

function isLayoverApi(candidate: unknown): candidate is LayoverApi {
  if (!candidate || typeof candidate !== 'object') return false;
  const record = candidate as Record<string, unknown>;
  return typeof record.subscribe === 'function' && LAYOVER_METHODS.every((m) => typeof record[m] === 'function');
}

/**
 * Picks how the dashboard reaches Layover: the Electron preload bridge when
 * there is one, else HTTP + SSE against the page's own origin (`layover serve`
 * serves the dashboard and the API on the same admin listener). In a browser
 * the session cookie from the one-time login link is the credential; no
 * secret ever sits in the page's URL or script.
 */
export function chooseTransport(win: Window): Transport {
  if (win.layover !== undefined) {
    if (!isLayoverApi(win.layover)) {
      const missing = ['subscribe', ...LAYOVER_METHODS].filter((m) => typeof (win.layover as unknown as Record<string, unknown>)[m] !== 'function');
      throw new Error(`The desktop bridge is incomplete: it lacks ${missing.join(', ')}.`);
    }
    return { api: win.layover, kind: 'ipc' };
  }
  return { api: createHttpClient({ baseUrl: '' }), kind: 'http' };
}
