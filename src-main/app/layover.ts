import { readFileSync } from 'node:fs';
import { mkdir, access, chmod, constants, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ActivityEvent, EndpointStatus, LayoverEvent, MirrorState, RegistryStatus, RequestRecord, Settings, Status, TransferStatus, MeshStatus } from '../api/types.js';
import { BlobFetcher } from '../core/fetch/blob-fetcher.js';
import { BandwidthBudget, type BandwidthBudgetOptions } from '../core/upstream/bandwidth.js';
import { ManifestFetcher } from '../core/fetch/manifest-fetcher.js';
import { TagLister } from '../core/fetch/tag-lister.js';
import { ReferrersFetcher } from '../core/fetch/referrers.js';
import { parsePublicKey, SignaturePolicy } from '../core/fetch/signature-policy.js';
import { BlobStore } from '../core/store/blob-store.js';
import { MetadataIndex } from '../core/store/metadata.js';
import { PinBook } from '../core/store/pins.js';
import { checkIndexAgainstFiles, type IndexCheckReport } from '../core/store/index-check.js';
import { Telemetry } from '../core/telemetry/telemetry.js';
import { certificateNames, HostPolicy } from '../core/net/allowed-hosts.js';
import { createMirrorHandler } from '../mirror/mirror-server.js';
import { createClientAuthorizer, type ClientAuthorizer } from '../mirror/client-auth.js';
import { ClientLimiter } from '../mirror/client-limits.js';
import { createMirrorListener, type MirrorListener } from './mirror-listener.js';
import { DEFAULT_LIMITS, redactSettings } from './settings.js';
import { EventEmitter } from 'node:events';
import type { RegistryRouter } from '../core/routing/registry-routing.js';
import { removeInstance, writeInstance } from './instance.js';
import { closeServer, formatHostPort, listen, parseHostPort, type HostPort } from './listen.js';
import { buildRouter } from './registries.js';
import type { EndpointHealth } from '../core/upstream/endpoint-health.js';
import type { SettingsStore } from './settings-store.js';
import { bandwidthLimitAt } from '../prefetch/schedule.js';

export const VERSION = '0.1.0';

export interface LayoverOptions {
  dataDir: string;
  settings: Settings;
  logger: Logger;
  /** Where settings changes made through the API are saved; none means they last for this run only. */
  settingsStore?: SettingsStore;
  /** Announce this instance in the data dir for CLI commands (off in tests that run several). */
  announce?: boolean;
  /** The office mesh's state for Status (the app's mesh feature, mesh-wiring.ts); undefined while not joined. */
  meshStatus?: () => MeshStatus | undefined;
  /** Tuning of how prefetch yields to pulls in the bandwidth budget (tests shorten the hold-off). */
  bandwidth?: Pick<BandwidthBudgetOptions, 'pullHoldoffMs' | 'keepAliveMs'>;
}

/**
 * The mirror core: store, upstream clients, fetchers, telemetry and the /v2
 * listener, wired from one Settings object. Both faces (the Electron shell and
 * `layover serve`) start exactly this.
 */
export class LayoverCore {
  readonly telemetry = new Telemetry();
  readonly store: BlobStore;
  readonly metadata: MetadataIndex;
  /** Content kept from eviction until a time (imported courier bundles). */
  readonly pins: PinBook;
  readonly blobs: BlobFetcher;
  readonly manifests: ManifestFetcher;
  readonly tags: TagLister;
  /** One budget for the upstream link: every fetched byte is paced through it, and prefetch yields to pulls. */
  readonly bandwidth: BandwidthBudget;
  /** OCI 1.1 referrers (signatures, SBOMs, attestations), cached like tags. */
  readonly referrers: ReferrersFetcher;
  /** Per registry, "serve only signed images" (requireSignature in its settings). */
  readonly signatures: SignaturePolicy;
  router: RegistryRouter;
  settings: Settings;
  /** The host names the mirror and the admin listener answer to (DNS rebinding guard). */
  hostPolicy: HostPolicy;
  mirrorAddress?: HostPort;
  readonly startedAt = Date.now();
  /** The background comparison of the index with the blob files, started once the mirror listens. */
  indexCheck?: Promise<IndexCheckReport | undefined>;
  private readonly stopping = new AbortController();
  private mirror?: MirrorListener;
  private authorizer?: ClientAuthorizer;
  /** Events from the rooms above telemetry (settings, prefetch jobs), in the API's shape. */
  private readonly published = new EventEmitter<{ event: [LayoverEvent] }>().setMaxListeners(0);

  constructor(readonly options: LayoverOptions) {
    this.settings = options.settings;
    this.metadata = new MetadataIndex(options.dataDir);
    this.pins = new PinBook(options.dataDir);
    this.store = new BlobStore(options.dataDir, this.metadata);
    this.router = buildRouter(this.settings);
    this.hostPolicy = hostPolicyFor(this.settings);
    const freshness = () => this.settings.tagFreshnessSeconds * 1000;
    this.bandwidth = new BandwidthBudget({
      // Wall-clock time of day, read at every chunk: a window opening applies at once, as does a settings change.
      limitOf: (registry) => {
        const settings = this.settings.registries.find((candidate) => candidate.name === registry);
        return settings && bandwidthLimitAt(settings, Date.now());
      },
      ...options.bandwidth,
    });
    this.blobs = new BlobFetcher(this.store, this.metadata, this.telemetry, this.bandwidth);
    this.reportPullsToBudget();
    this.manifests = new ManifestFetcher(this.store, this.metadata, freshness);
    this.tags = new TagLister(this.metadata, freshness);
    this.referrers = new ReferrersFetcher(this.manifests, this.metadata, this.store, freshness);
    this.signatures = new SignaturePolicy({ manifests: this.manifests, referrers: this.referrers, blobs: this.blobs, store: this.store }, (registry) => {
      const pem = this.settings.registries.find((candidate) => candidate.name === registry)?.requireSignature?.publicKey;
      return pem ? parsePublicKey(pem) : undefined;
    }, freshness);
  }

  /** The office mesh's state, from the provider the core was made with; undefined while not joined. */
  meshStatus(): MeshStatus | undefined {
    return this.options.meshStatus?.();
  }

  /** A client asking for a manifest: its blobs are likely next, so prefetch yields now (the fetcher reports pull transfers itself). */
  private reportPullsToBudget(): void {
    this.telemetry.on('request', (request: RequestRecord) => {
      if (request.kind === 'manifest') this.bandwidth.notePullActivity(request.registry);
    });
  }

  get logger(): Logger {
    return this.options.logger;
  }

  async start(): Promise<void> {
    reportTightened(this.logger, await prepareDataDir(this.options.dataDir));
    const { removedLeftovers } = await this.store.open();
    if (removedLeftovers > 0) this.logger.info({ removedLeftovers }, 'removed half-written blobs left by an earlier stop');
    await this.metadata.load({ store: this.store, log: (message, fields) => this.logger.info(fields ?? {}, message) });
    await this.pins.load();
    try {
      await this.listen();
    } catch (error) {
      await this.metadata.close().catch(() => undefined);
      throw error;
    }
    this.indexCheck = this.checkIndex();
  }

  private async listen(): Promise<void> {
    this.authorizer = createClientAuthorizer(this.settings.clientAuth);
    const limits = this.settings.limits ?? DEFAULT_LIMITS;
    const handler = createMirrorHandler({
      router: () => this.router, blobs: this.blobs, manifests: this.manifests, tags: this.tags, referrers: this.referrers, signatures: this.signatures,
      metadata: this.metadata, telemetry: this.telemetry, logger: this.logger,
      hosts: () => this.hostPolicy,
      authorizer: () => this.authorizer, limiter: new ClientLimiter(limits),
    });
    this.mirror = await createMirrorListener(this.settings, limits, handler, (error) => {
      if (error) this.telemetry.note('error', `The TLS certificate changed but could not be loaded: ${error.message}`);
      else this.telemetry.note('info', 'Reloaded the TLS certificate');
      this.hostPolicy = hostPolicyFor(this.settings);
    });
    this.mirrorAddress = await listen(this.mirror.server, this.mirror.address, 'mirror address');
    this.logger.info({ listen: formatHostPort(this.mirrorAddress), tls: this.mirror.tls, clientAuth: this.settings.clientAuth?.mode ?? 'none', dataDir: this.options.dataDir }, 'mirror ready');
  }

  /** Takes new settings for the requests that follow (listen addresses apply at the next start). */
  applySettings(settings: Settings): void {
    const previous = this.router;
    this.settings = settings;
    this.router = buildRouter(settings);
    this.hostPolicy = hostPolicyFor(settings);
    this.authorizer = createClientAuthorizer(settings.clientAuth);
    this.publish({ type: 'settings', settings: redactSettings(settings) });
    void Promise.all(previous.all().map((client) => client.close()));
  }

  async stop(): Promise<void> {
    this.mirror?.stopWatching();
    if (this.mirror) await closeServer(this.mirror.server);
    await Promise.all(this.router.all().map((client) => client.destroy()));
    this.stopping.abort();
    await this.indexCheck;
    // The index is what a restart would otherwise relearn from the upstream: failing to save it (a full disk) must not stop the stop.
    await this.metadata.close().catch((error: Error) => this.logger.warn({ err: error }, 'could not save the metadata index'));
    if (this.options.announce) await removeInstance(this.options.dataDir);
  }

  /** Finds blob files the index lacks and records whose file is gone, at low priority: it stands aside while pulls move bytes. */
  private async checkIndex(): Promise<IndexCheckReport | undefined> {
    try {
      const report = await checkIndexAgainstFiles(this.metadata, this.store, { busy: () => this.telemetry.activeTransfers().length > 0, signal: this.stopping.signal });
      if (report.adopted + report.dropped > 0) this.logger.info(report, 'the metadata index was repaired against the blob files');
      else this.logger.info({ blobs: this.metadata.usage().blobs }, 'the metadata index matches the blob files');
      return report;
    } catch (error) {
      if (!this.stopping.signal.aborted) this.logger.warn({ err: error }, 'could not check the metadata index against the blob files');
      return undefined;
    }
  }

  async announce(adminUrl: string): Promise<void> {
    if (!this.options.announce || !this.mirrorAddress) return;
    await writeInstance({ pid: process.pid, mirrorAddress: formatHostPort(this.mirrorAddress), adminUrl, dataDir: this.options.dataDir, startedAt: this.startedAt });
  }

  registryStatuses(): RegistryStatus[] {
    return this.router.all().map((client) => ({
      name: client.name,
      isDefault: client === this.router.default,
      endpoints: client.endpointStates().map(({ url, health, repositoryPrefix, rateLimit }) => {
        const limit = rateLimit.status();
        return { ...endpointStatus(url, health), ...(repositoryPrefix ? { repositoryPrefix } : {}), ...(limit ? { rateLimit: limit } : {}) };
      }),
      endpointChoice: client.endpointChoice,
      redirectHosts: client.redirectHostStates().map(({ url, health }) => endpointStatus(url, health)),
    }));
  }

  /** ready; offline when no endpoint of some registry answers (cached content is still served). */
  state(): { state: MirrorState; summary: string } {
    if (!this.mirrorAddress) return { state: 'starting', summary: 'Starting' };
    const unreachable = this.registryStatuses().filter((registry) => registry.endpoints.every((endpoint) => endpoint.health === 'down' || endpoint.health === 'degraded'));
    if (unreachable.length > 0) {
      return { state: 'offline', summary: `Serving from cache: ${unreachable.map((r) => r.name).join(', ')} unreachable` };
    }
    return { state: 'ready', summary: `Mirror ready on ${formatHostPort(this.mirrorAddress)}` };
  }

  /** `prefetchPaused` comes from the prefetch service, which the app wires above the core. */
  status(adminUrl: string, prefetchPaused = false): Status {
    const { state, summary } = this.state();
    const address = this.mirrorAddress ? formatHostPort(this.mirrorAddress) : this.settings.listen;
    const scheme = this.mirror?.tls ? 'https' : 'http';
    return {
      version: VERSION,
      state,
      summary,
      mirrorAddress: address,
      mirrorUrl: `${scheme}://${address}`,
      adminUrl,
      dataDir: this.options.dataDir,
      registries: this.registryStatuses(),
      counters: this.telemetry.snapshot(),
      usage: {
        bytesUsed: this.store.usage.bytes,
        blobs: this.store.usage.blobs,
        quotaBytes: this.settings.quotaBytes,
        repositories: this.metadata.repositoryCount(),
      },
      transfers: this.telemetry.activeTransfers(),
      prefetchPaused,
      startedAt: this.startedAt,
      ...withMesh(this.meshStatus()),
    };
  }

  /** Sends an event to every subscriber of onEvent (the prefetch layer reports jobs this way). */
  publish(event: LayoverEvent): void {
    this.published.emit('event', event);
  }

  /** Live events for the dashboard and the tray, in the API's shape. */
  onEvent(listener: (event: LayoverEvent) => void): () => void {
    const onRequest = (request: RequestRecord) => listener({ type: 'request', request });
    const onTransfer = (transfer: TransferStatus, done: boolean) => listener({ type: 'transfer', transfer, done });
    const onActivity = (event: ActivityEvent) => listener({ type: 'activity', event });
    this.telemetry.on('request', onRequest);
    this.telemetry.on('transfer', onTransfer);
    this.telemetry.on('activity', onActivity);
    this.published.on('event', listener);
    return () => {
      this.published.off('event', listener);
      this.telemetry.off('request', onRequest);
      this.telemetry.off('transfer', onTransfer);
      this.telemetry.off('activity', onActivity);
    };
  }
}

/** One endpoint's (or redirect host's) health as Status shows it. */
function endpointStatus(url: string, health: EndpointHealth): EndpointStatus {
  return {
    url,
    health: health.state(),
    ...(health.latencyMs === undefined ? {} : { latencyMs: Math.round(health.latencyMs) }),
    ...(health.lastError && health.state() !== 'healthy' ? { lastError: health.lastError } : {}),
    ...(health.isDown() ? { retryAt: health.downUntil } : {}),
    ...(health.throughputBytesPerSecond === undefined ? {} : { throughputBytesPerSecond: Math.round(health.throughputBytesPerSecond) }),
  };
}

function withMesh(mesh: MeshStatus | undefined): { mesh?: MeshStatus } {
  return mesh ? { mesh } : {};
}

/**
 * The names Layover answers to: those in the settings, the names its TLS
 * certificate is issued for, and the names its listeners were given.
 */
function hostPolicyFor(settings: Settings): HostPolicy {
  const listeners = [settings.listen, settings.admin].map((address) => parseHostPort(address, 'a listen address').host);
  return new HostPolicy([...listeners, ...(settings.allowedHosts ?? []), ...certificateNamesOf(settings)]);
}

function certificateNamesOf(settings: Settings): string[] {
  if (!settings.tls) return [];
  try {
    return certificateNames(readFileSync(settings.tls.certFile));
  } catch {
    return []; // an unreadable certificate fails the listener itself, with its own message
  }
}

/**
 * Creates the data dir, private to its owner (cached private images and
 * credentials live there), and proves it is writable now rather than at the
 * first blob. A directory that already existed with wider permissions is
 * tightened, with the entries directly inside it; returns what was tightened.
 */
export async function prepareDataDir(dataDir: string): Promise<string[]> {
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await access(dataDir, constants.R_OK | constants.W_OK);
    const tightened = await makePrivate(dataDir);
    for (const entry of await readdir(dataDir)) tightened.push(...(await makePrivate(join(dataDir, entry))));
    return tightened;
  } catch (error) {
    throw new Error(`data directory ${dataDir} is not usable: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

export function reportTightened(logger: Logger, tightened: string[]): void {
  if (tightened.length > 0) logger.warn({ tightened }, 'the data directory was readable by other users: made it private to its owner');
}

/** Removes group and other permissions from one file or directory; returns it when they were there. */
async function makePrivate(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info || (info.mode & 0o077) === 0) return [];
  await chmod(path, info.mode & 0o700);
  return [path];
}
