import type { LayoverApi } from '../api/layover-api.js';
import type { ConnectionTestResult, EndpointSettings, JobStatus, LayoverEvent, Settings, Status } from '../api/types.js';
import { parseChallenge } from '../core/upstream/challenge.js';
import { UPSTREAM_MANIFEST_ACCEPT } from '../core/oci/media-types.js';
import { headerValue, RegistryClient } from '../core/upstream/registry-client.js';
import { repositoryRequest } from '../core/upstream/repository-request.js';
import { listCachedRepositories, listRequests } from './browse-cache.js';
import type { LayoverCore } from './layover.js';
import { parseSettings, redactSettings } from './settings.js';
import { toRegistryConfig } from './registries.js';

/** A capability this build does not have yet: the dashboard shows the message as it is. */
export class NotAvailableError extends Error {
  readonly status = 501;
  readonly code = 'NOT_AVAILABLE';
}

/** The methods the app answers itself, from the core: status, activity, settings. */
type AppMethods = 'getStatus' | 'subscribe' | 'getActivity' | 'listCachedRepositories' | 'listRequests' | 'getSettings' | 'updateSettings' | 'testConnection';

/** Every other method of LayoverApi: the features' parts (prefetch, runtimes, demo, ...), wired in by the app. */
export type FeatureApis = Omit<LayoverApi, AppMethods>;

/** What Status and Activity show of prefetch. */
export interface PrefetchView {
  isPaused(): boolean;
  jobs(): JobStatus[];
}

/** LayoverApi over the running core: what both the IPC bridge and the HTTP control API serve. */
export function createApiService(core: LayoverCore, adminUrl: () => string, features: FeatureApis, prefetch: PrefetchView): LayoverApi {
  const status = () => core.status(adminUrl(), prefetch.isPaused());
  return {
    getStatus: async () => status(),
    subscribe: (listener) => subscribeWithStatus(core, status, listener),
    getActivity: async () => ({ requests: core.telemetry.recentRequests(), events: core.telemetry.recentEvents(), jobs: prefetch.jobs() }),
    listCachedRepositories: async (args) => listCachedRepositories(core.metadata, args ?? {}),
    listRequests: async (args) => listRequests(core.telemetry.recentRequests(), args ?? {}),
    ...createSettingsApi(core),
    ...features,
  };
}

/** Settings and the connection test: what works even while the core is not running (the desktop app's stopped state). */
export function createSettingsApi(core: LayoverCore): Pick<LayoverApi, 'getSettings' | 'updateSettings' | 'testConnection'> {
  return {
    getSettings: async () => redactSettings(core.settings),
    updateSettings: async (patch) => redactSettings(await saveSettings(core, patch)),
    testConnection: (endpoint) => testConnection(withSavedPassword(core.settings, endpoint)),
  };
}

/** Status events are a full snapshot: at most this often, however busy the mirror is. */
const STATUS_EVENT_INTERVAL_MS = 1_000;

/**
 * Live events, plus status snapshots: at once when the mirror's state changes
 * (an upstream lost or back), otherwise at most once a second while requests
 * and transfers move the counters, so dashboards and the tray never wait for
 * a poll.
 */
function subscribeWithStatus(core: LayoverCore, status: () => Status, listener: (event: LayoverEvent) => void): () => void {
  let lastState = core.state().state;
  let timer: NodeJS.Timeout | undefined;
  const sendStatus = () => {
    clearTimeout(timer);
    timer = undefined;
    lastState = core.state().state;
    listener({ type: 'status', status: status() });
  };
  const unsubscribe = core.onEvent((event) => {
    listener(event);
    if (event.type === 'status') return;
    if (core.state().state !== lastState) sendStatus();
    else timer ??= setTimeout(sendStatus, STATUS_EVENT_INTERVAL_MS);
  });
  return () => {
    clearTimeout(timer);
    unsubscribe();
  };
}

/**
 * Saves a settings change. Passwords are write-only: an endpoint sent back
 * without one keeps the password it had. Registry changes take effect for new
 * requests at once; listen addresses at the next start.
 */
export async function saveSettings(core: LayoverCore, patch: Partial<Settings>): Promise<Settings> {
  const merged = { ...core.settings, ...patch };
  merged.registries = merged.registries.map((registry) => ({
    ...registry,
    endpoints: registry.endpoints.map(({ hasPassword, ...endpoint }) => {
      const previous = core.settings.registries.find((r) => r.name === registry.name)?.endpoints.find((e) => e.url === endpoint.url);
      return endpoint.password === undefined && hasPassword && previous?.password ? { ...endpoint, password: previous.password } : endpoint;
    }),
  }));
  const settings = parseSettings(merged, 'the settings change');
  await core.options.settingsStore?.save(settings);
  core.applySettings(settings);
  return settings;
}

/** The dashboard never holds saved passwords: an endpoint sent with hasPassword and no password means "the one saved for this URL". */
function withSavedPassword(settings: Settings, endpoint: EndpointSettings): EndpointSettings {
  if (endpoint.password !== undefined || !endpoint.hasPassword) return endpoint;
  const saved = settings.registries.flatMap((registry) => registry.endpoints).find((e) => e.url === endpoint.url && e.username === endpoint.username);
  return saved?.password ? { ...endpoint, password: saved.password } : endpoint;
}

/** A repository every Docker Hub proxy project can serve: what the connection test asks for through a prefix. */
const KNOWN_REPOSITORY = 'library/alpine';

/**
 * Asks for a known repository's tag through the endpoint's prefix, by HEAD (not a counted pull on Docker Hub):
 * a proxy project fetches it from its own upstream, so a wrong project name or a cache cut off from its
 * upstream shows here rather than at the first pull.
 */
async function checkThroughPrefix(client: RegistryClient, prefix: string): Promise<NonNullable<ConnectionTestResult['repositoryCheck']>> {
  const repository = `${prefix.replace(/^\/+|\/+$/g, '')}/${KNOWN_REPOSITORY}`;
  try {
    const response = await client.request({ ...repositoryRequest(KNOWN_REPOSITORY, 'manifests/latest', 'HEAD'), headers: { accept: UPSTREAM_MANIFEST_ACCEPT } });
    await response.body.dump();
    const { status } = response;
    if (status === 200) return { repository, ok: true, status, detail: `${repository}:latest answered through the prefix` };
    const detail = status === 404
      ? `${repository}:latest is not there: check the project name (${prefix}) and that the project proxies the registry you name it for`
      : status === 401 || status === 403
        ? `${repository}:latest was refused (HTTP ${status}): the project may need credentials, or these cannot read it`
        : `${repository}:latest answered HTTP ${status}`;
    return { repository, ok: false, status, detail };
  } catch (error) {
    return { repository, ok: false, detail: `${repository}:latest could not be asked: ${(error as Error).message}` };
  }
}

/** Asks an endpoint for /v2/ with the given credentials and reports what happened, exactly. */
export async function testConnection(endpoint: EndpointSettings): Promise<ConnectionTestResult> {
  const client = new RegistryClient(toRegistryConfig({ name: 'connection-test', endpoints: [endpoint] }), {
    timeouts: { connectMs: 5_000, headersMs: 10_000, idleMs: 10_000 },
  });
  const started = Date.now();
  try {
    const response = await client.request({ method: 'GET', path: '/v2/' });
    await response.body.dump();
    const challenge = parseChallenge(headerValue(response.headers['www-authenticate']));
    const auth = challenge ? challenge.scheme : 'anonymous';
    if (response.status === 200) {
      const latencyMs = Date.now() - started;
      if (!endpoint.repositoryPrefix) return { ok: true, url: endpoint.url, latencyMs, auth };
      const repositoryCheck = await checkThroughPrefix(client, endpoint.repositoryPrefix);
      return { ok: repositoryCheck.ok, url: endpoint.url, latencyMs, auth, repositoryCheck, ...(repositoryCheck.ok ? {} : { error: repositoryCheck.detail }) };
    }
    const reason = response.status === 401 ? 'the registry refused the credentials (HTTP 401)' : `the registry answered HTTP ${response.status}`;
    return { ok: false, url: endpoint.url, latencyMs: Date.now() - started, auth, error: reason };
  } catch (error) {
    return { ok: false, url: endpoint.url, error: (error as Error).message };
  } finally {
    await client.close();
  }
}
