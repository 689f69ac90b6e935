import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LayoverApi } from '../api/layover-api.js';
import { LOGIN_PATH } from '../api/http-client.js';
import { createMetricsRegistry } from '../core/telemetry/prometheus.js';
import { createPrefetchService, type PrefetchService, type PrefetchServiceOptions } from '../prefetch/prefetch-service.js';
import { createAdminServer } from '../control/admin-server.js';
import { AdminAccess, secret } from '../control/admin-access.js';
import { createBundleFeature } from './bundle-wiring.js';
import { createApiService, saveSettings, type FeatureApis } from './api-service.js';
import { createRuntimesApi } from '../runtimes/index.js';
import { createDemoService } from './demo-wiring.js';
import { removeAdminToken, writeAdminToken } from './admin-credentials.js';
import { createMeshApi, createMeshFeature } from './mesh-wiring.js';
import { LayoverCore, type LayoverOptions } from './layover.js';
import { closeServer, formatHostPort, listen, parseHostPort, type HostPort } from './listen.js';

export interface HeadlessOptions extends LayoverOptions {
  /** The admin listener's token (the CLI reads it from the token file); generated when absent. */
  adminToken?: string;
  /** Run the admin HTTP listener (dashboard in a browser, CLI, /metrics). Default true; the desktop app may turn it off. */
  adminListener?: boolean;
  /** A token that opens /metrics alone, for a Prometheus scraper. */
  metricsToken?: string;
  /** Open /metrics without any credential (and nothing else): an explicit choice, `--metrics-public`. */
  metricsPublic?: boolean;
  /** Replaces features' parts of the API (tests hand the demo a client and a temp folder of their own). */
  extensions?: (core: LayoverCore) => Partial<FeatureApis>;
  /** Tuning of the prefetch scheduler and of how prefetch yields to pulls (tests shorten both). */
  prefetch?: Omit<PrefetchServiceOptions, 'saveSettings'> & { yielding?: LayoverOptions['bandwidth'] };
}

export interface HeadlessInstance {
  core: LayoverCore;
  api: LayoverApi;
  prefetch: PrefetchService;
  mirrorAddress: string;
  /** The admin listener's URL; undefined when it is off. */
  adminUrl: string | undefined;
  /** The credential every API call and /metrics needs (Bearer); the CLI finds it in the token file. */
  adminToken: string;
  /** A fresh URL that logs a browser into the dashboard once; undefined when the admin listener is off. */
  dashboardLoginUrl(): string | undefined;
  stop(): Promise<void>;
}

/** Where the built dashboard sits relative to the compiled (dist/main/app) or source (src-main/app) file. */
function findDashboard(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, '../../renderer'), join(here, '../../dist/renderer')].find((dir) => existsSync(join(dir, 'index.html')));
}

/** `layover serve`: the core, plus the admin listener with the API, SSE, /metrics and the dashboard. */
export async function startHeadless(options: HeadlessOptions): Promise<HeadlessInstance> {
  const { yielding, ...prefetchTuning } = options.prefetch ?? {};
  // The office mesh starts on top of the core (below); the core reports its state in Status from the start.
  const mesh = createMeshFeature(options.logger);
  const core = new LayoverCore({ ...options, ...(yielding ? { bandwidth: yielding } : {}), meshStatus: () => mesh.status() });
  try {
    await core.start();
  } catch (error) {
    await core.stop();
    throw error;
  }
  const adminToken = options.adminToken ?? secret();
  const access = new AdminAccess({ adminToken, ...(options.metricsToken ? { metricsToken: options.metricsToken } : {}), metricsPublic: Boolean(options.metricsPublic) });
  let adminAddress: HostPort | undefined;
  const adminUrl = () => (adminAddress ? `http://${formatHostPort(adminAddress)}` : '');
  // Rules live in the settings: prefetch saves them the way the dashboard's updateSettings does.
  const prefetch = createPrefetchService(core, { ...prefetchTuning, saveSettings: (settings) => saveSettings(core, settings) });
  try {
    await prefetch.start(); // continues the jobs a stop or a crash interrupted
  } catch (error) {
    await core.stop();
    throw error;
  }
  const features: FeatureApis = {
    ...prefetch.api,
    ...createRuntimesApi({
      mirrorAddress: () => core.status(adminUrl()).mirrorAddress,
      registries: () => core.settings.registries.map((registry) => registry.name),
      defaultRegistry: () => core.settings.defaultRegistry,
      probeArrived: (nonce) => core.telemetry.probes.arrival(nonce) !== undefined,
    }),
    ...createDemoService(core),
    ...createBundleFeature(core),
    ...createMeshApi(core),
    ...options.extensions?.(core),
  };
  const api: LayoverApi = createApiService(core, adminUrl, features, prefetch);
  let admin: Server | undefined;
  if (options.adminListener ?? true) {
    const metrics = createMetricsRegistry(core.telemetry, () => ({ bytesUsed: core.store.usage.bytes, blobs: core.store.usage.blobs }), () => core.registryStatuses(), () => core.meshStatus());
    admin = createAdminServer({ api, metrics, logger: options.logger, dashboardDir: findDashboard(), access, hosts: () => core.hostPolicy });
    try {
      const wanted = parseHostPort(options.settings.admin, 'the admin address (--admin)');
      // The token is in place before the listener answers anything (a CLI started right after /healthz finds it);
      // an ephemeral port is known only once bound.
      if (wanted.port !== 0) await writeAdminToken(wanted, adminToken);
      adminAddress = await listen(admin, wanted, 'admin address');
      if (wanted.port === 0) await writeAdminToken(adminAddress, adminToken);
    } catch (error) {
      await closeServer(admin);
      await prefetch.stop();
      await core.stop();
      throw error;
    }
    options.logger.info({ admin: adminUrl() }, 'dashboard and control API ready');
  }
  try {
    await mesh.start(core);
  } catch (error) {
    if (admin) await closeServer(admin);
    await prefetch.stop();
    await core.stop();
    throw error;
  }
  await core.announce(adminUrl());
  return {
    core,
    api,
    prefetch,
    mirrorAddress: formatHostPort(core.mirrorAddress!),
    get adminUrl() {
      return adminAddress ? adminUrl() : undefined;
    },
    adminToken,
    dashboardLoginUrl: () => (adminAddress ? `${adminUrl()}${LOGIN_PATH}?code=${access.issueLoginCode()}` : undefined),
    stop: async () => {
      if (admin) await closeServer(admin);
      if (adminAddress) await removeAdminToken(adminAddress, adminToken);
      await mesh.stop();
      // A demo in progress owns servers and a temp dir of its own: end it before the core it stands on.
      await api.cancelDemo().catch(() => undefined);
      await prefetch.stop();
      await core.stop();
    },
  };
}
