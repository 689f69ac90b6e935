/**
 * The LayoverApi the dashboard talks to while the core could not start (the
 * mirror's port is taken, the settings file is invalid, the data folder is
 * not writable). Headless, `layover serve` just exits with the message; the
 * tray app stays up instead, says why in the tray and on the Overview, and
 * lets the person fix the settings (a different port, say) and start again.
 *
 * It is app's own createApiService over a LayoverCore that was constructed
 * but never started, so settings go through exactly the same merge,
 * validation and store as when running. No Electron import: unit-tested.
 */
import type { Logger } from 'pino';
import type { LayoverApi } from '../api/layover-api.js';
import { LAYOVER_METHODS } from '../api/layover-api.js';
import type { Settings, Status } from '../api/types.js';
import { createSettingsApi } from '../app/api-service.js';
import { LayoverCore } from '../app/layover.js';
import type { SettingsStore } from '../app/settings-store.js';
import { defaultSettings } from '../app/settings.js';

export class CoreNotRunningError extends Error {
  readonly code = 'CORE_NOT_RUNNING';
  readonly status = 503;
}

export interface StoppedApiOptions {
  /** Why the core is not running, in words a person can act on. */
  reason: string;
  dataDir: string;
  logger: Logger;
  /** The settings as loaded; absent when they could not be read (then they cannot be edited here either). */
  settings?: Settings;
  settingsStore?: SettingsStore;
}

export interface StoppedApi {
  api: LayoverApi;
  /** Releases the upstream clients. Never LayoverCore.stop(): its index was never loaded, and stop() would write it out empty. */
  close(): Promise<void>;
}

/** Settings changes still work, and testConnection; everything that needs the running mirror says why it cannot. */
const STILL_AVAILABLE = new Set(['getSettings', 'updateSettings', 'testConnection']);

export function createStoppedApi(options: StoppedApiOptions): StoppedApi {
  const core = new LayoverCore({
    dataDir: options.dataDir,
    settings: options.settings ?? defaultSettings(),
    logger: options.logger,
    ...(options.settings && options.settingsStore ? { settingsStore: options.settingsStore } : {}),
    announce: false,
  });
  const running = createSettingsApi(core);
  const refuse = async (): Promise<never> => {
    throw new CoreNotRunningError(`The mirror is not running: ${options.reason}`);
  };
  const api: Record<string, unknown> = {};
  for (const method of LAYOVER_METHODS) {
    api[method] = STILL_AVAILABLE.has(method) && (options.settings || method === 'testConnection') ? running[method as keyof typeof running] : refuse;
  }
  api.getStatus = async (): Promise<Status> => ({
    ...core.status(''),
    state: 'problem',
    summary: `Mirror not running: ${options.reason}`,
    transfers: [],
  });
  api.getActivity = async () => ({
    requests: [],
    jobs: [],
    events: [{ at: Date.now(), level: 'error' as const, message: `The mirror is not running: ${options.reason}` }],
  });
  api.subscribe = () => () => {};
  return {
    api: api as unknown as LayoverApi,
    close: async () => {
      await Promise.all(core.router.all().map((client) => client.close()));
    },
  };
}
