import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LayoverApi } from '../api/layover-api.js';
import { createMetricsRegistry } from '../core/telemetry/prometheus.js';
import { createPrefetchService, type PrefetchService, type PrefetchServiceOptions } from '../prefetch/prefetch-service.js';
import { createAdminServer } from '../control/admin-server.js';
import { createApiService, type ApiExtensions } from './api-service.js';
import { LayoverCore, type LayoverOptions } from './layover.js';
import { closeServer, formatHostPort, isLoopback, listen, parseHostPort } from './listen.js';

export interface HeadlessOptions extends LayoverOptions {
  /** The admin token when the admin listener is off loopback; generated if absent. */
  adminToken?: string;
  extensions?: (core: LayoverCore) => ApiExtensions;
  /** Tuning of the prefetch scheduler (tests shorten its tick). */
  prefetch?: Omit<PrefetchServiceOptions, 'saveSettings'>;
}

export interface HeadlessInstance {
  core: LayoverCore;
  api: LayoverApi;
  prefetch: PrefetchService;
  mirrorAddress: string;
  adminUrl: string;
  /** Set when the admin listener needs one (not on loopback). */
  adminToken?: string;
  stop(): Promise<void>;
}

/** Where the built dashboard sits relative to the compiled (dist/main/app) or source (src-main/app) file. */
function findDashboard(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, '../../renderer'), join(here, '../../dist/renderer')].find((dir) => existsSync(join(dir, 'index.html')));
}

/** `layover serve`: the core, plus the admin listener with the API, SSE, /metrics and the dashboard. */
export async function startHeadless(options: HeadlessOptions): Promise<HeadlessInstance> {
  const core = new LayoverCore(options);
  try {
    await core.start();
  } catch (error) {
    await core.stop();
    throw error;
  }
  const adminAddress = parseHostPort(options.settings.admin, 'the admin address (--admin)');
  const adminToken = isLoopback(adminAddress.host) ? undefined : options.adminToken ?? randomBytes(24).toString('base64url');
  let adminUrl = `http://${formatHostPort(adminAddress)}`;
  // Rules live in the settings: prefetch saves them through updateSettings, as the dashboard does.
  let api: LayoverApi | undefined;
  const prefetch = createPrefetchService(core, { ...options.prefetch, saveSettings: (settings) => api!.updateSettings(settings) });
  try {
    await prefetch.start(); // continues the jobs a stop or a crash interrupted
  } catch (error) {
    await core.stop();
    throw error;
  }
  core.prefetchPaused = () => prefetch.isPaused();
  api = createApiService(core, () => adminUrl, { ...prefetch.api, ...options.extensions?.(core) }, () => prefetch.jobs());
  const metrics = createMetricsRegistry(core.telemetry, () => ({ bytesUsed: core.store.usage.bytes, blobs: core.store.usage.blobs }));
  const admin: Server = createAdminServer({ api, metrics, logger: options.logger, dashboardDir: findDashboard(), ...(adminToken ? { token: adminToken } : {}) });
  try {
    adminUrl = `http://${formatHostPort(await listen(admin, adminAddress, 'admin address'))}`;
  } catch (error) {
    await prefetch.stop();
    await core.stop();
    throw error;
  }
  await core.announce(adminUrl);
  options.logger.info({ admin: adminUrl, tokenRequired: Boolean(adminToken) }, 'dashboard and control API ready');
  return {
    core,
    api,
    prefetch,
    mirrorAddress: formatHostPort(core.mirrorAddress!),
    adminUrl,
    ...(adminToken ? { adminToken } : {}),
    stop: async () => {
      await closeServer(admin);
      // A demo in progress owns servers and a temp dir of its own: end it before the core it stands on.
      await api.cancelDemo().catch(() => undefined);
      await prefetch.stop();
      await core.stop();
    },
  };
}
