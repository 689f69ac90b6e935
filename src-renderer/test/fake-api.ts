/**
 * An in-memory LayoverApi for the dashboard's component tests and the
 * screenshot preview server. It is a test fake, never shipped: the end-to-end
 * tests drive the real headless core. Results cross a JSON round trip, as they
 * would over IPC or HTTP, so a page cannot mutate the fake's state by accident.
 */
import type { LayoverApi, LayoverMethod } from '../../src-main/api/layover-api.js';
import { LayoverApiError } from '../../src-main/api/http-client.js';
import { advanceDemo, cancelDemo, idleDemo, startedDemo } from './fake-demo.js';
import type {
  Activity, ConnectionTestResult, DemoStatus, DockerConfigPreview, DockerPullCheck, DockerStatus, EndpointSettings, JobStatus,
  LayoverEvent, PrefetchRequest, PrefetchRule, RepositoryEntry, RepositoryPage, RuleStatus,
  RuntimeSnippet, Settings, Status, TagState, BundleTask,
} from '../../src-main/api/types.js';

export interface FakeState {
  status: Status;
  settings: Settings;
  activity: Omit<Activity, 'jobs'>;
  jobs: JobStatus[];
  rules: RuleStatus[];
  /** Repositories by registry name. */
  catalog: Record<string, RepositoryEntry[]>;
  catalogSource: RepositoryPage['source'];
  /** Tags by "registry/repository". */
  tags: Record<string, TagState[]>;
  docker: DockerStatus;
  /** What Layover's pull check finds once Docker lists its mirror (the real one sends a probe through Docker). */
  dockerPullsArrive: boolean;
  /** daemon.json as it is now, before Layover touches it. */
  daemonJson: Record<string, unknown>;
  snippets: RuntimeSnippet[];
  /** What testConnection answers. */
  connection: (endpoint: EndpointSettings) => ConnectionTestResult;
  /** The demo's current or last run (moved on by advance). */
  demo: DemoStatus;
}

export interface FakeApi extends LayoverApi {
  readonly state: FakeState;
  /** Every call made, in order. */
  readonly calls: Array<{ method: LayoverMethod; arg: unknown }>;
  /** Sends an event to every subscriber. */
  emit(event: LayoverEvent): void;
  /** Makes every later call of `method` fail with this message, until cleared with `fail(method)`. */
  fail(method: LayoverMethod, message?: string, code?: string): void;
  /** Makes every later call of `method` never answer (to see loading states). */
  hang(method: LayoverMethod): void;
  /** Advances running jobs and transfers by `seconds` and emits what changed (preview server). */
  advance(seconds: number): void;
  listenerCount(): number;
}

/** The fake's one office mesh: its join code (what createOfficeMesh hands out, what joinOfficeMesh accepts) and id. */
export const FAKE_JOIN_CODE = 'LM1-4T7QM-9XK2D-HB6RW-Z3N8P-VJ5CA';
export const FAKE_OFFICE_ID = '6f1c0a9e2b7d4413';

const clone = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

/** A stable fake sha256 digest derived from a string. */
export function fakeDigest(seed: string): string {
  let h1 = 0x811c9dc5;
  let out = '';
  for (let round = 0; out.length < 64; round++) {
    for (const ch of `${seed}#${round}`) h1 = Math.imul(h1 ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    out += h1.toString(16).padStart(8, '0');
  }
  return `sha256:${out.slice(0, 64)}`;
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function baseSettings(): Settings {
  return {
    schemaVersion: 1,
    listen: '127.0.0.1:5050',
    admin: '127.0.0.1:5051',
    defaultRegistry: 'docker.io',
    registries: [{ name: 'docker.io', endpoints: [{ url: 'https://registry-1.docker.io' }] }],
    tagFreshnessSeconds: 300,
    quotaBytes: 0,
    rules: [],
    startAtLogin: false,
    firstRunDone: false,
  };
}

function baseDocker(): DockerStatus {
  return {
    available: true,
    version: '26.1.5',
    isDesktop: false,
    mirrors: [],
    usesLayover: false,
    daemonJsonPath: '/etc/docker/daemon.json',
  };
}

function baseStatus(now: number): Status {
  return {
    version: '0.1.0',
    state: 'ready',
    summary: 'Ready: serving on 127.0.0.1:5050',
    mirrorAddress: '127.0.0.1:5050',
    mirrorUrl: 'http://127.0.0.1:5050',
    adminUrl: 'http://127.0.0.1:5051',
    dataDir: '/home/dev/.local/share/layover',
    registries: [{ name: 'docker.io', isDefault: true, endpoints: [{ url: 'https://registry-1.docker.io', health: 'unknown' }] }],
    counters: {
      hits: 0, misses: 0, bytesServedFromCache: 0, bytesFetchedUpstream: 0,
      upstreamErrors: 0, secondsSaved: 0, upstreamBytesPerSecond: 0,
    },
    usage: { bytesUsed: 0, quotaBytes: 0, blobs: 0, repositories: 0 },
    transfers: [],
    prefetchPaused: false,
    startedAt: now - 60_000,
  };
}

function baseSnippets(): RuntimeSnippet[] {
  return [
    {
      runtime: 'podman',
      path: '/etc/containers/registries.conf.d/50-layover.conf',
      content: '[[registry]]\nlocation = "docker.io"\n\n[[registry.mirror]]\nlocation = "127.0.0.1:5050"\ninsecure = true\n',
      explanation: 'Podman reads drop-in files from registries.conf.d; pulls from docker.io try Layover first.',
    },
    {
      runtime: 'containerd',
      path: '/etc/containerd/certs.d/docker.io/hosts.toml',
      content: 'server = "https://registry-1.docker.io"\n\n[host."http://127.0.0.1:5050"]\n  capabilities = ["pull", "resolve"]\n',
      explanation: 'Set config_path = "/etc/containerd/certs.d" in containerd\'s CRI registry config, then restart containerd.',
    },
  ];
}

/** A fresh install: nothing configured, nothing cached, first run not done. */
export function emptyState(now = Date.now()): FakeState {
  return {
    status: baseStatus(now),
    settings: baseSettings(),
    activity: { requests: [], events: [] },
    jobs: [],
    rules: [],
    catalog: {},
    catalogSource: 'catalog',
    tags: {},
    docker: baseDocker(),
    dockerPullsArrive: true,
    daemonJson: { 'log-driver': 'json-file' },
    snippets: baseSnippets(),
    connection: (endpoint) => ({ ok: true, url: endpoint.url, latencyMs: 42, auth: 'bearer' }),
    demo: idleDemo(),
  };
}

/** An office that has used Layover for a while: the screenshots' data. */
export function sampleState(now = Date.now()): FakeState {
  const state = emptyState(now);
  const dtr = 'dtr.example.com';
  state.settings = {
    ...state.settings,
    firstRunDone: true,
    quotaBytes: 80 * GiB,
    startAtLogin: true,
    registries: [
      { name: 'docker.io', endpoints: [{ url: 'https://registry-1.docker.io' }] },
      {
        name: dtr,
        bandwidthLimit: 4 * MiB,
        bandwidthWindows: [
          { start: '08:00', end: '18:00', bytesPerSecond: MiB },
          { start: '22:00', end: '06:00', bytesPerSecond: 0 },
        ],
        endpoints: [
          { url: 'https://dtr-cache.fra.example.com', username: 'ci-reader', hasPassword: true, caFile: '/etc/ssl/certs/example-root.pem' },
          { url: 'https://dtr.example.com', username: 'ci-reader', hasPassword: true },
        ],
      },
    ],
  };
  state.status = {
    ...state.status,
    summary: 'Ready: 2 registries reachable, 3 transfers running',
    registries: [
      { name: 'docker.io', isDefault: true, endpoints: [{ url: 'https://registry-1.docker.io', health: 'healthy', latencyMs: 187 }] },
      {
        name: dtr,
        isDefault: false,
        endpoints: [
          { url: 'https://dtr-cache.fra.example.com', health: 'healthy', latencyMs: 38 },
          {
            url: 'https://dtr.example.com', health: 'degraded', latencyMs: 412,
            lastError: 'GET /v2/: timeout after 10 s (TLS handshake)', retryAt: now + 45_000,
          },
        ],
      },
    ],
    counters: {
      hits: 1842, misses: 311, bytesServedFromCache: 96.4 * GiB, bytesFetchedUpstream: 18.2 * GiB,
      upstreamErrors: 4, secondsSaved: 7 * 3600 + 42 * 60, upstreamBytesPerSecond: 3.6 * MiB,
    },
    usage: { bytesUsed: 41.7 * GiB, quotaBytes: 80 * GiB, blobs: 2318, repositories: 27 },
    transfers: [
      {
        id: 't1', registry: dtr, repository: 'platform/build-agent', digest: fakeDigest('t1'),
        bytesDone: 412 * MiB, bytesTotal: 968 * MiB, bytesPerSecond: 3.1 * MiB, clients: 3, kind: 'pull', startedAt: now - 130_000,
      },
      {
        id: 't2', registry: 'docker.io', repository: 'library/postgres', digest: fakeDigest('t2'),
        bytesDone: 21 * MiB, bytesTotal: 148 * MiB, bytesPerSecond: 1.2 * MiB, clients: 1, kind: 'pull', startedAt: now - 18_000,
      },
      {
        id: 't3', registry: dtr, repository: 'payments/api', digest: fakeDigest('t3'),
        bytesDone: 3.4 * MiB, bytesPerSecond: 0.4 * MiB, clients: 0, kind: 'prefetch', startedAt: now - 9_000,
      },
    ],
    docker: { ...baseDocker(), mirrors: ['http://127.0.0.1:5050'], usesLayover: true },
  };
  state.docker = { ...baseDocker(), mirrors: ['http://127.0.0.1:5050'], usesLayover: true };
  state.daemonJson = { 'log-driver': 'json-file', 'registry-mirrors': ['http://127.0.0.1:5050'] };

  const repos: Array<[string, number]> = [
    ['platform/build-agent', 4], ['platform/base-jdk', 6], ['platform/base-node', 3], ['payments/api', 2],
    ['payments/worker', 0], ['payments/ledger', 0], ['web/storefront', 5], ['web/admin', 1], ['data/etl-runner', 0],
    ['data/spark', 2], ['tools/helm', 0], ['tools/terraform', 1],
  ];
  state.catalog[dtr] = repos.map(([name, cachedTags]) => ({ name, cached: cachedTags > 0, cachedTags }));
  state.catalog['docker.io'] = [
    { name: 'library/postgres', cached: true, cachedTags: 2 },
    { name: 'library/nginx', cached: true, cachedTags: 1 },
    { name: 'library/redis', cached: false, cachedTags: 0 },
  ];
  state.tags[`${dtr}/platform/build-agent`] = [
    { tag: '3.4.1', state: 'in-sync', cachedDigest: fakeDigest('ba-341'), upstreamDigest: fakeDigest('ba-341'), lastCheck: now - 240_000, lastSuccess: now - 240_000 },
    { tag: '3.4.0', state: 'in-sync', cachedDigest: fakeDigest('ba-340'), upstreamDigest: fakeDigest('ba-340'), lastCheck: now - 240_000, lastSuccess: now - 240_000 },
    { tag: 'latest', state: 'stale', cachedDigest: fakeDigest('ba-340'), upstreamDigest: fakeDigest('ba-341'), lastCheck: now - 240_000, lastSuccess: now - 86_400_000 },
    { tag: '3.5.0-rc.1', state: 'syncing', upstreamDigest: fakeDigest('ba-350'), lastCheck: now - 30_000 },
    { tag: '3.3.9', state: 'failed', upstreamDigest: fakeDigest('ba-339'), lastCheck: now - 3_600_000, error: 'manifest unknown: the upstream deleted this tag' },
    { tag: '2.9.0', state: 'missing', upstreamDigest: fakeDigest('ba-290'), lastCheck: now - 3_600_000 },
  ];
  state.tags[`${dtr}/payments/api`] = [
    { tag: 'v1.12.0', state: 'in-sync', cachedDigest: fakeDigest('pa-1120'), upstreamDigest: fakeDigest('pa-1120'), lastCheck: now - 600_000 },
    { tag: 'v1.11.3', state: 'missing', upstreamDigest: fakeDigest('pa-1113'), lastCheck: now - 600_000 },
  ];

  state.jobs = [
    {
      id: 'job-1', registry: dtr, repository: 'platform/build-agent', tags: ['3.5.0-rc.1'], ruleId: 'rule-nightly-agent',
      state: 'running', bytesDone: 612 * MiB, bytesTotal: 1480 * MiB, blobsDone: 9, blobsTotal: 17, bytesPerSecond: 2.8 * MiB,
      etaSeconds: 310, createdAt: now - 240_000,
    },
    {
      id: 'job-2', registry: dtr, repository: 'payments/api', tags: ['v1.11.3'], state: 'paused',
      bytesDone: 40 * MiB, bytesTotal: 212 * MiB, blobsDone: 2, blobsTotal: 8, bytesPerSecond: 0, createdAt: now - 900_000,
    },
    {
      id: 'job-0', registry: 'docker.io', repository: 'library/postgres', tags: ['16', '16-alpine'], state: 'done',
      bytesDone: 311 * MiB, bytesTotal: 311 * MiB, blobsDone: 22, blobsTotal: 22, bytesPerSecond: 0,
      createdAt: now - 7_200_000, finishedAt: now - 6_900_000,
    },
    {
      id: 'job-f', registry: dtr, repository: 'platform/build-agent', tags: ['3.3.9'], state: 'failed',
      bytesDone: 0, bytesTotal: 0, blobsDone: 0, blobsTotal: 0, bytesPerSecond: 0,
      error: 'The upstream has no tag 3.3.9 any more (manifest unknown). Remove it from the rule or pick another tag.',
      createdAt: now - 3_700_000, finishedAt: now - 3_600_000,
    },
  ];

  const nightly: PrefetchRule = {
    id: 'rule-nightly-agent', registry: dtr, repository: 'platform/build-agent', tags: { kind: 'semver', range: '>=3.4.0' },
    platforms: 'host', schedule: { kind: 'window', start: '19:00', end: '07:00' }, bandwidthLimit: 2 * MiB, enabled: true,
  };
  const bases: PrefetchRule = {
    id: 'rule-bases', registry: dtr, repository: 'platform/base-*', tags: { kind: 'newest', count: 3 },
    platforms: [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }],
    schedule: { kind: 'interval', hours: 6 }, enabled: true,
  };
  const postgres: PrefetchRule = {
    id: 'rule-pg', registry: 'docker.io', repository: 'library/postgres', tags: { kind: 'exact', tags: ['16', '16-alpine'] },
    platforms: 'all', schedule: { kind: 'now' }, enabled: false,
  };
  state.settings.rules = [nightly, bases, postgres];
  state.rules = [
    { rule: nightly, tags: state.tags[`${dtr}/platform/build-agent`]!.slice(0, 4), lastCheck: now - 240_000, lastSuccess: now - 240_000, nextRun: now + 5 * 3_600_000 },
    { rule: bases, tags: [], lastCheck: now - 2 * 3_600_000, lastSuccess: now - 2 * 3_600_000, nextRun: now + 4 * 3_600_000 },
    { rule: postgres, tags: [], lastCheck: now - 7_200_000, lastSuccess: now - 6_900_000 },
  ];

  const clients = ['10.20.4.17', '10.20.4.31', '127.0.0.1', '10.20.4.22'];
  const pulls: Array<[string, string, string, 'hit' | 'miss' | 'stale' | 'revalidated', number, number, number]> = [
    ['docker.io', 'library/postgres', '16', 'revalidated', 200, 7_412, 92],
    ['docker.io', 'library/postgres', fakeDigest('pg-layer'), 'miss', 200, 148 * MiB, 41_200],
    [dtr, 'platform/build-agent', '3.4.1', 'hit', 200, 9_118, 3],
    [dtr, 'platform/build-agent', fakeDigest('ba-layer-1'), 'hit', 200, 311 * MiB, 2_100],
    [dtr, 'web/storefront', '2025.11.3', 'stale', 200, 6_002, 10_012],
    [dtr, 'payments/worker', 'v2.0.0', 'miss', 404, 0, 310],
    [dtr, 'platform/base-jdk', '21', 'hit', 200, 5_880, 2],
    [dtr, 'platform/base-jdk', fakeDigest('jdk-layer'), 'hit', 200, 189 * MiB, 1_400],
  ];
  state.activity.requests = pulls.map(([registry, repository, reference, cache, status, bytes, durationMs], i) => ({
    id: `r${i}`,
    at: now - i * 95_000 - 20_000,
    method: 'GET',
    registry,
    repository,
    kind: reference.startsWith('sha256:') ? 'blob' : 'manifest',
    reference,
    status,
    cache,
    bytes,
    durationMs,
    client: clients[i % clients.length]!,
    ...(status === 404 ? { error: 'manifest unknown: payments/worker:v2.0.0 does not exist on dtr.example.com' } : {}),
  }));
  state.activity.events = [
    { at: now - 45_000, level: 'warning', registry: dtr, message: 'dtr.example.com is slow (timeout after 10 s); using the regional cache dtr-cache.fra.example.com.' },
    { at: now - 600_000, level: 'info', message: 'Prefetch of postgres:16, 16-alpine finished: 311 MiB in 5 min.' },
    { at: now - 3_600_000, level: 'error', registry: dtr, message: 'Prefetch of platform/build-agent:3.3.9 failed: the upstream has no such tag. Edit rule "platform/build-agent".' },
    { at: now - 86_400_000 - 5_000, level: 'info', message: 'Docker now uses Layover as its registry mirror.' },
  ];
  return state;
}

/** Builds the fake around a state (default: a fresh install). */
export function createFakeApi(initial: FakeState = emptyState()): FakeApi {
  const state = initial;
  const listeners = new Set<(event: LayoverEvent) => void>();
  const calls: Array<{ method: LayoverMethod; arg: unknown }> = [];
  const failures = new Map<LayoverMethod, { message: string; code: string }>();
  const hanging = new Set<LayoverMethod>();
  let jobCounter = state.jobs.length + 1;

  const emit = (event: LayoverEvent): void => {
    for (const listener of [...listeners]) listener(clone(event));
  };
  const bundleTask = (kind: BundleTask['kind'], path: string): BundleTask => ({
    id: `bundle-${kind}-1`, kind, state: 'running', path, bytesDone: 0, bytesTotal: 30 * MiB, blobsDone: 0, blobsTotal: 4, step: `reading ${path}`, startedAt: Date.now(),
  });
  const answer = <T>(method: LayoverMethod, arg: unknown, compute: () => T): Promise<T> => {
    calls.push({ method, arg: clone(arg) });
    if (hanging.has(method)) return new Promise<T>(() => undefined);
    const failure = failures.get(method);
    if (failure) return Promise.reject(new LayoverApiError(failure.message, failure.code, 500));
    try {
      return Promise.resolve(clone(compute()));
    } catch (error) {
      return Promise.reject(error);
    }
  };
  const findJob = (id: string): JobStatus => {
    const job = state.jobs.find((j) => j.id === id);
    if (!job) throw new LayoverApiError(`no job ${id}`, 'NOT_FOUND', 404);
    return job;
  };
  const setJob = (job: JobStatus, patch: Partial<JobStatus>): JobStatus => {
    Object.assign(job, patch);
    emit({ type: 'job', job });
    return job;
  };
  const publicSettings = (): Settings => ({
    ...state.settings,
    registries: state.settings.registries.map((registry) => ({
      ...registry,
      endpoints: registry.endpoints.map(({ password, ...endpoint }) => ({
        ...endpoint,
        hasPassword: Boolean(password) || Boolean(endpoint.hasPassword),
      })),
    })),
  });
  // Docker Desktop's VM reaches this computer as host.docker.internal, as the real runtimes write it.
  const layoverMirror = (): string => (state.docker.isDesktop ? state.status.mirrorUrl.replace('127.0.0.1', 'host.docker.internal') : state.status.mirrorUrl);
  const dockerPullCheck = (): DockerPullCheck => (state.dockerPullsArrive
    ? { outcome: 'reaches', message: `Docker's pulls reach Layover (a probe pull arrived at ${layoverMirror()})`, checkedAt: Date.now() }
    : { outcome: 'unreachable', message: `Docker is configured with ${layoverMirror()} but its pulls do not reach Layover: a firewall between Docker and Layover`, checkedAt: Date.now() });
  const dockerPreview = (revert: boolean): DockerConfigPreview => {
    const before = state.daemonJson;
    const mirrors = ((before['registry-mirrors'] as string[] | undefined) ?? []).filter((m) => m !== state.status.mirrorUrl && m !== layoverMirror());
    const after: Record<string, unknown> = { ...before };
    if (revert) {
      if (mirrors.length) after['registry-mirrors'] = mirrors;
      else delete after['registry-mirrors'];
    } else after['registry-mirrors'] = [layoverMirror(), ...mirrors];
    const beforeText = `${JSON.stringify(before, null, 2)}\n`;
    const afterText = `${JSON.stringify(after, null, 2)}\n`;
    return {
      path: state.docker.daemonJsonPath ?? '/etc/docker/daemon.json',
      before: beforeText,
      after: afterText,
      changed: beforeText !== afterText,
      apply: state.docker.isDesktop ? 'restart Docker Desktop (it reads daemon.json only when it starts)' : 'SIGHUP to dockerd (pid 812): running containers keep running',
    };
  };
  const newJob = (request: { registry: string; repository: string; tags: string[]; ruleId?: string }): JobStatus => {
    const job: JobStatus = {
      id: `job-${jobCounter++}`,
      registry: request.registry,
      repository: request.repository,
      tags: request.tags,
      ...(request.ruleId ? { ruleId: request.ruleId } : {}),
      state: 'queued',
      bytesDone: 0,
      bytesTotal: 0,
      blobsDone: 0,
      blobsTotal: 0,
      bytesPerSecond: 0,
      createdAt: Date.now(),
    };
    state.jobs.unshift(job);
    emit({ type: 'job', job });
    return job;
  };
  const tagsOf = (selector: PrefetchRequest['tags'], registry: string, repository: string): string[] => {
    if (!selector) return ['latest'];
    if (selector.kind === 'exact') return selector.tags;
    const known = (state.tags[`${registry}/${repository}`] ?? []).map((t) => t.tag);
    if (selector.kind === 'newest') return known.slice(0, selector.count);
    return known;
  };

  const api: FakeApi = {
    state,
    calls,
    emit,
    fail(method, message, code = 'UPSTREAM_ERROR') {
      if (message === undefined) failures.delete(method);
      else failures.set(method, { message, code });
    },
    hang(method) {
      hanging.add(method);
    },
    listenerCount: () => listeners.size,
    advance(seconds) {
      for (const job of state.jobs) {
        if (job.state === 'queued') {
          setJob(job, { state: 'running', bytesTotal: job.bytesTotal || 180 * MiB, blobsTotal: job.blobsTotal || 9 });
        } else if (job.state === 'running') {
          const rate = 3 * MiB;
          const bytesDone = Math.min(job.bytesTotal, job.bytesDone + rate * seconds);
          const blobsDone = Math.min(job.blobsTotal, Math.floor((bytesDone / job.bytesTotal) * job.blobsTotal));
          const done = bytesDone >= job.bytesTotal;
          setJob(job, {
            bytesDone, blobsDone, bytesPerSecond: done ? 0 : rate,
            ...(done ? { state: 'done', finishedAt: Date.now() } : { etaSeconds: Math.round((job.bytesTotal - bytesDone) / rate) }),
          });
          if (done) {
            emit({ type: 'activity', event: { at: Date.now(), level: 'info', registry: job.registry, message: `Prefetch of ${job.repository}:${job.tags.join(', ')} finished.` } });
          }
        }
      }
      if (advanceDemo(state.demo, seconds)) emit({ type: 'demo', demo: state.demo });
      for (const transfer of [...state.status.transfers]) {
        const total = transfer.bytesTotal ?? 200 * MiB;
        transfer.bytesDone = Math.min(total, transfer.bytesDone + transfer.bytesPerSecond * seconds);
        const done = transfer.bytesDone >= total;
        emit({ type: 'transfer', transfer, done });
        if (done) state.status.transfers = state.status.transfers.filter((t) => t.id !== transfer.id);
      }
    },

    getStatus: () => answer('getStatus', undefined, () => ({ ...state.status, docker: state.docker })),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    getActivity: () => answer('getActivity', undefined, () => ({ ...state.activity, jobs: state.jobs })),
    listRepositories: (args) => answer('listRepositories', args, () => {
      const all = state.catalog[args.registry] ?? [];
      const query = args.query?.trim().toLowerCase() ?? '';
      const matching = query ? all.filter((r) => r.name.toLowerCase().includes(query)) : all;
      const start = args.cursor ? Number(args.cursor) : 0;
      const pageSize = 50;
      const page: RepositoryPage = {
        registry: args.registry,
        repositories: matching.slice(start, start + pageSize),
        source: state.catalogSource,
      };
      if (start + pageSize < matching.length) page.next = String(start + pageSize);
      return page;
    }),
    listTags: (args) => answer('listTags', args, () => state.tags[`${args.registry}/${args.repository}`] ?? []),
    listCachedRepositories: (args) => answer('listCachedRepositories', args, () => {
      const registries = args.registry ? [args.registry] : Object.keys(state.catalog);
      const cached = registries.flatMap((registry) => (state.catalog[registry] ?? []).filter((r) => r.cached).map((r) => ({ registry, name: r.name, cachedTags: r.cachedTags, lastAccess: Date.now() - 3_600_000 })));
      const query = args.query?.trim().toLowerCase() ?? '';
      const matching = query ? cached.filter((r) => r.name.toLowerCase().includes(query)) : cached;
      const start = args.cursor ? Number(args.cursor) : 0;
      const limit = args.limit ?? 50;
      const total = Object.values(state.catalog).flat().filter((r) => r.cached).length;
      return { repositories: matching.slice(start, start + limit), total, ...(start + limit < matching.length ? { next: String(start + limit) } : {}) };
    }),
    listRequests: (args) => answer('listRequests', args, () => {
      const query = args.query?.trim().toLowerCase() ?? '';
      const matching = state.activity.requests.filter((r) =>
        (args.kind === 'manifests' ? r.kind === 'manifest' : args.kind === 'errors' ? r.status >= 400 || Boolean(r.error) : true) &&
        (!query || `${r.registry}/${r.repository ?? ''}:${r.reference ?? ''} ${r.client} ${r.status}`.toLowerCase().includes(query)));
      const start = args.cursor ? Number(args.cursor) : 0;
      const limit = args.limit ?? 50;
      return { requests: matching.slice(start, start + limit), ...(start + limit < matching.length ? { next: String(start + limit) } : {}) };
    }),
    prefetch: (args) => answer('prefetch', args, () => {
      const registry = args.registry ?? state.settings.defaultRegistry;
      return newJob({ registry, repository: args.repository, tags: tagsOf(args.tags, registry, args.repository) });
    }),
    listJobs: () => answer('listJobs', undefined, () => state.jobs),
    pauseJob: ({ id }) => answer('pauseJob', { id }, () => setJob(findJob(id), { state: 'paused', bytesPerSecond: 0 })),
    resumeJob: ({ id }) => answer('resumeJob', { id }, () => setJob(findJob(id), { state: 'running' })),
    cancelJob: ({ id }) => answer('cancelJob', { id }, () => setJob(findJob(id), { state: 'cancelled', bytesPerSecond: 0, finishedAt: Date.now() })),
    setPrefetchPaused: ({ paused }) => answer('setPrefetchPaused', { paused }, () => {
      state.status.prefetchPaused = paused;
      emit({ type: 'status', status: { ...state.status, docker: state.docker } });
      return undefined;
    }),
    listRules: () => answer('listRules', undefined, () => state.rules),
    saveRule: (rule) => answer('saveRule', rule, () => {
      const existing = state.rules.find((r) => r.rule.id === rule.id);
      if (existing) existing.rule = rule;
      else state.rules.push({ rule, tags: [] });
      state.settings.rules = state.rules.map((r) => r.rule);
      return rule;
    }),
    deleteRule: ({ id }) => answer('deleteRule', { id }, () => {
      state.rules = state.rules.filter((r) => r.rule.id !== id);
      state.settings.rules = state.rules.map((r) => r.rule);
      return undefined;
    }),
    syncNow: ({ ruleId }) => answer('syncNow', { ruleId }, () =>
      state.rules
        .filter((r) => (ruleId ? r.rule.id === ruleId : r.rule.enabled))
        .map((r) => newJob({ registry: r.rule.registry, repository: r.rule.repository, tags: tagsOf(r.rule.tags, r.rule.registry, r.rule.repository), ruleId: r.rule.id }))),
    gc: () => answer('gc', undefined, () => ({
      freedBytes: 0, freedBlobs: 0, bytesUsed: state.status.usage.bytesUsed, quotaBytes: state.status.usage.quotaBytes,
      pinnedBytes: 0, pinnedBlobs: 0, busyBlobs: 0, summary: 'freed 0 B in 0 blobs',
    })),
    getSettings: () => answer('getSettings', undefined, publicSettings),
    updateSettings: (patch) => answer('updateSettings', patch, () => {
      const previous = state.settings.registries;
      state.settings = { ...state.settings, ...clone(patch) };
      if (patch.registries) {
        // Passwords are write-only: an endpoint sent without one keeps the one it had.
        state.settings.registries = state.settings.registries.map((registry) => ({
          ...registry,
          endpoints: registry.endpoints.map((endpoint) => {
            if (endpoint.password) return endpoint;
            const old = previous.find((r) => r.name === registry.name)?.endpoints.find((e) => e.url === endpoint.url);
            const { hasPassword: _ignored, ...rest } = endpoint;
            return old?.password || old?.hasPassword ? { ...rest, password: old.password, hasPassword: true } : rest;
          }),
        }));
      }
      const settings = publicSettings();
      emit({ type: 'settings', settings });
      return settings;
    }),
    testConnection: (endpoint) => answer('testConnection', { ...endpoint, password: endpoint.password ? '***' : undefined }, () => state.connection(endpoint)),
    getDockerStatus: (args) => answer('getDockerStatus', args, () => {
      if (args?.recheck && state.docker.usesLayover) state.docker = { ...state.docker, pullCheck: dockerPullCheck() };
      return state.docker;
    }),
    previewDockerConfig: ({ revert }) => answer('previewDockerConfig', { revert }, () => dockerPreview(Boolean(revert))),
    applyDockerConfig: ({ revert }) => answer('applyDockerConfig', { revert }, () => {
      const preview = dockerPreview(Boolean(revert));
      state.daemonJson = JSON.parse(preview.after) as Record<string, unknown>;
      const listed = (state.daemonJson['registry-mirrors'] as string[] | undefined) ?? [];
      // Docker Desktop takes the file only when it restarts: until then its mirrors stay, and the check is pending.
      const mirrors = state.docker.isDesktop ? state.docker.mirrors : listed;
      const usesLayover = mirrors.includes(layoverMirror());
      const pullCheck: DockerPullCheck | undefined = revert ? undefined : state.docker.isDesktop && !usesLayover
        ? { outcome: 'pending', message: 'Restart Docker Desktop to apply the change; then check that its pulls reach Layover (layover docker status)', checkedAt: Date.now() }
        : dockerPullCheck();
      const { pullCheck: _previous, ...rest } = state.docker;
      state.docker = { ...rest, mirrors, usesLayover, layoverMirror: layoverMirror(), ...(pullCheck ? { pullCheck } : {}) };
      emit({ type: 'status', status: { ...state.status, docker: state.docker } });
      return state.docker;
    }),
    pullThroughLayover: ({ reference }) => answer('pullThroughLayover', { reference }, () => ({ reference, digest: fakeDigest(reference) })),
    runtimeSnippets: () => answer('runtimeSnippets', undefined, () => state.snippets),
    getDemo: () => answer('getDemo', undefined, () => state.demo),
    startDemo: (request) => answer('startDemo', request, () => {
      if (state.demo.state === 'preparing' || state.demo.state === 'running') throw new LayoverApiError('A demo is already running: wait for it to finish, or cancel it', 'DEMO_RUNNING', 409);
      state.demo = startedDemo(request, Date.now());
      emit({ type: 'demo', demo: state.demo });
      return state.demo;
    }),
    cancelDemo: () => answer('cancelDemo', undefined, () => {
      cancelDemo(state.demo);
      emit({ type: 'demo', demo: state.demo });
      return state.demo;
    }),
    // Courier bundles: a plan of 3 blobs; tasks start running and move on through emit (see test/bundle pages).
    planExport: (request) => answer('planExport', request, () => ({
      tags: [{ registry: 'docker.io', repository: 'library/app', tag: '1.0', digest: `sha256:${'a'.repeat(64)}` }],
      manifests: 1, blobs: 3, bytes: 30 * MiB, skippedBlobs: request.have ? 1 : 0, skippedBytes: request.have ? 20 * MiB : 0, missingBlobs: 0, missingBytes: 0,
    })),
    startExport: (request) => answer('startExport', request, () => bundleTask('export', request.out)),
    writeInventory: (request) => answer('writeInventory', request, () => ({ path: request.out, blobs: 3, bytes: 30 * MiB })),
    startImport: (request) => answer('startImport', request, () => bundleTask('import', request.path)),
    listBundleTasks: () => answer('listBundleTasks', undefined, () => []),
    // Office mesh: one fixed office; FAKE_JOIN_CODE is its code, any other code is refused as a typo (the real check is office-key's checksum).
    createOfficeMesh: () => answer('createOfficeMesh', undefined, () => ({ ...joinFakeOffice(), joinCode: FAKE_JOIN_CODE })),
    joinOfficeMesh: (args) => answer('joinOfficeMesh', args, () => {
      if (args.code.trim().toUpperCase() !== FAKE_JOIN_CODE) throw new LayoverApiError('the office join code has a typo (its checksum does not match)', 'BAD_JOIN_CODE', 400);
      return joinFakeOffice();
    }),
    leaveOfficeMesh: () => answer('leaveOfficeMesh', undefined, () => {
      if (state.settings.mesh) state.settings.mesh = { ...state.settings.mesh, enabled: false };
      return publicSettings();
    }),
  };
  function joinFakeOffice() {
    const keyFile = `/home/me/.local/share/layover/office-${FAKE_OFFICE_ID}.key`;
    state.settings.mesh = { discovery: true, peers: [], ...state.settings.mesh, enabled: true, keyFile };
    return { officeId: FAKE_OFFICE_ID, keyFile, settings: publicSettings() };
  }
  return api;
}
