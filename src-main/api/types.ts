/**
 * The data that crosses between Layover's core and every face of it: the
 * dashboard (over Electron IPC or HTTP + Server-Sent Events) and the CLI.
 * Plain JSON-serialisable types only: no classes, no Dates (times are epoch ms).
 */

export type EpochMs = number;

/** One upstream endpoint of a registry: the regional cache first, the origin last. */
export interface EndpointStatus {
  url: string;
  /** healthy: answering; degraded: recent failures; down: skipped until retryAt. */
  health: 'healthy' | 'degraded' | 'down' | 'unknown';
  latencyMs?: number;
  lastError?: string;
  retryAt?: EpochMs;
  /** Put before every repository name on this endpoint (a Harbor / MSR 4 proxy project), e.g. "hub-proxy/". */
  repositoryPrefix?: string;
  /** Measured from real blob transfers (averaged); absent until one was large enough to measure. */
  throughputBytesPerSecond?: number;
  /** The pull limit the endpoint states (Docker Hub's ratelimit-* headers), or the 429 it answered. */
  rateLimit?: RateLimitStatus;
}

/** A registry's pull limit as its last answer stated it. */
export interface RateLimitStatus {
  limit?: number;
  remaining?: number;
  /** The window the limit counts over (Docker Hub: hours). */
  windowSeconds?: number;
  /** The address or account the limit is counted for (docker-ratelimit-source). */
  source?: string;
  observedAt?: EpochMs;
  /** Few pulls left: the tray warns. */
  low: boolean;
  /** The registry answered 429: cached tags are served stale meanwhile. */
  exhausted: boolean;
  exhaustedAt?: EpochMs;
  /** From Retry-After, when the registry said. */
  retryAt?: EpochMs;
}

export interface RegistryStatus {
  name: string;
  isDefault: boolean;
  endpoints: EndpointStatus[];
  /** How the first endpoint to ask is chosen. */
  endpointChoice?: EndpointChoice;
  /** Hosts the endpoints redirected blob downloads to (MSR 2/3 content caches, object stores), each with its own health. */
  redirectHosts?: EndpointStatus[];
}

/** in-order: the configured order (regional cache first); fastest: the healthy endpoint with the best measured throughput. */
export type EndpointChoice = 'in-order' | 'fastest';

export type MirrorState = 'starting' | 'ready' | 'offline' | 'problem' | 'stopped';

export interface TransferStatus {
  id: string;
  registry: string;
  repository: string;
  digest: string;
  bytesDone: number;
  /** Undefined while the upstream has not said how large the blob is. */
  bytesTotal?: number;
  bytesPerSecond: number;
  clients: number;
  /** The host the bytes come from: the endpoint, or the content cache it redirected to. */
  servedBy?: string;
  /** prefetch transfers yield to interactive ones. */
  kind: 'pull' | 'prefetch';
  startedAt: EpochMs;
}

export interface CacheCounters {
  hits: number;
  misses: number;
  bytesServedFromCache: number;
  bytesFetchedUpstream: number;
  upstreamErrors: number;
  /** Estimated from the measured upstream rate: what the hits would have cost over the link. */
  secondsSaved: number;
  /** Measured mean upstream rate, bytes per second (0 until something was fetched). */
  upstreamBytesPerSecond: number;
}

export interface CacheUsage {
  bytesUsed: number;
  /** 0 means no quota. */
  quotaBytes: number;
  blobs: number;
  repositories: number;
}

export interface Status {
  version: string;
  state: MirrorState;
  /** One line a person can read, e.g. "Serving from cache: upstream unreachable". */
  summary: string;
  /** Address Docker is pointed at, e.g. "127.0.0.1:5050". */
  mirrorAddress: string;
  mirrorUrl: string;
  /** The admin listener (browser dashboard, CLI); "" when it is off (the desktop app without "dashboard in a browser"). */
  adminUrl: string;
  dataDir: string;
  registries: RegistryStatus[];
  counters: CacheCounters;
  usage: CacheUsage;
  transfers: TransferStatus[];
  prefetchPaused: boolean;
  docker?: DockerStatus;
  startedAt: EpochMs;
  /** The office mesh, when this Layover has joined one. */
  mesh?: MeshStatus;
}

/** One other Layover of the office mesh, as this one sees it. */
export interface PeerStatus {
  /** host:port of its mesh listener. */
  address: string;
  /** How it was found: the settings or --peer, or DNS-SD on the LAN. */
  found: 'static' | 'mdns';
  /** live: answering now; down: stopped answering (asked again every few seconds, never waited on); dropped: sent a wrong byte, ignored until restart. */
  state: 'live' | 'down' | 'dropped';
  /** Since when it has been live (or down, or dropped). */
  since: EpochMs;
  bytesReceived: number;
  bytesSent: number;
  /** Why it is down or dropped. */
  reason?: string;
}

export interface MeshStatus {
  /** The office this Layover belongs to (a hash of the office key; it reveals nothing of the key). */
  officeId: string;
  /** This Layover's id among the members. */
  member: string;
  /** Where the mesh listener answers members. */
  listen: string[];
  /** Announcing and finding peers with DNS-SD (mDNS) on the LAN. */
  discovery: boolean;
  peers: PeerStatus[];
  bytesReceivedFromPeers: number;
  bytesSentToPeers: number;
  peerErrors: number;
  /** Bytes that came from peers instead of the WAN (this laptop's share of the office's saving). */
  wanBytesSaved: number;
  /** Requests from machines without the office key, refused. */
  refused: number;
  /** Questions about a digest (who has it, its bytes) that members asked this Layover. */
  questionsAnswered: number;
}

/** The office mesh in the settings: off until the user joins one (first run or Settings). */
export interface MeshSettings {
  enabled: boolean;
  /** The office key file (made by `layover mesh init` or `layover mesh join`). */
  keyFile?: string;
  /** HOST:PORT of the mesh listener; default port 5052 on the LAN interfaces' addresses. */
  listen?: string;
  /** HOST:PORT of peers to ask even where multicast is blocked. */
  peers?: string[];
  /** Find and announce peers with DNS-SD over mDNS (default true). */
  discovery?: boolean;
  /** Bytes per second for serving all peers together; 0 or absent: no cap. */
  servingCapBytesPerSecond?: number;
}

/** What creating or joining an office mesh from the dashboard did: the mesh is on, with a key file in the data dir. */
export interface OfficeMeshJoined {
  /** Names the office on the LAN; not the key. */
  officeId: string;
  /** The key file written (owner-only) in the data dir. */
  keyFile: string;
  /** Only when this Layover created the office: the code to hand to colleagues (it is the key). */
  joinCode?: string;
  settings: Settings;
}

export interface RequestRecord {
  id: string;
  at: EpochMs;
  method: string;
  registry: string;
  repository?: string;
  /** manifest | blob | tags | catalog | base | other */
  kind: string;
  reference?: string;
  status: number;
  /** hit: from cache; miss: fetched upstream; stale: cached tag served because the upstream failed. */
  cache?: 'hit' | 'miss' | 'stale' | 'revalidated';
  bytes: number;
  durationMs: number;
  client: string;
  error?: string;
  /** For a blob fetched upstream: the host that sent it (the endpoint, or the content cache it redirected to). */
  servedBy?: string;
  /** For a stale answer: why the upstream was not asked or did not answer (e.g. a pull limit). */
  staleReason?: string;
}

export interface ActivityEvent {
  at: EpochMs;
  level: 'info' | 'warning' | 'error';
  /** Words a person can act on. */
  message: string;
  registry?: string;
}

export interface Activity {
  requests: RequestRecord[];
  events: ActivityEvent[];
  jobs: JobStatus[];
}

export interface RepositoryEntry {
  name: string;
  cached: boolean;
  /** How many tags of it the cache holds. */
  cachedTags: number;
}

export interface RepositoryPage {
  registry: string;
  repositories: RepositoryEntry[];
  /** Opaque cursor for the next page, absent on the last page. */
  next?: string;
  /** 'catalog': the registry's /v2/_catalog; 'dtr': DTR's repositories API; 'cache': only what is cached (upstream unreachable). */
  source: 'catalog' | 'dtr' | 'cache';
}

/** A repository the cache holds (the core's own index, not the upstream's catalog). */
export interface CachedRepository {
  registry: string;
  name: string;
  /** How many tags of it the cache holds. */
  cachedTags: number;
  /** Last time a client pulled from it. */
  lastAccess: EpochMs;
}

/** One page of the cache's repositories, searched and paged by the core. */
export interface CachedRepositoryPage {
  repositories: CachedRepository[];
  /** Opaque cursor for the next page, absent on the last page. */
  next?: string;
  /** Repositories the cache holds in all, matching or not. */
  total: number;
}

/** One page of recent requests, newest first, searched and paged by the core. */
export interface RequestPage {
  requests: RequestRecord[];
  /** Opaque cursor for the next (older) page, absent on the last page. */
  next?: string;
}

/** Largest page the core answers for listCachedRepositories and listRequests. */
export const MAX_PAGE_SIZE = 200;

export type SyncState = 'in-sync' | 'stale' | 'missing' | 'syncing' | 'failed';

export interface TagState {
  tag: string;
  state: SyncState;
  cachedDigest?: string;
  upstreamDigest?: string;
  lastCheck?: EpochMs;
  lastSuccess?: EpochMs;
  error?: string;
  /** What is attached to the cached manifest (signatures, attestations, SBOMs), from the cache alone. */
  attachments?: AttachmentSummary;
}

/** Counts by kind of what is attached to one manifest, and how many of those the cache holds whole. */
export interface AttachmentSummary {
  signatures: number;
  attestations: number;
  sboms: number;
  other: number;
  /** Attachments whose manifest and blobs are all in the cache (readable offline). */
  cached: number;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export type TagSelector =
  | { kind: 'exact'; tags: string[] }
  | { kind: 'glob'; pattern: string }
  | { kind: 'semver'; range: string }
  | { kind: 'newest'; count: number };

export type Schedule =
  | { kind: 'now' }
  | { kind: 'interval'; hours: number }
  /** A nightly window in local time, "19:00" to "07:00". */
  | { kind: 'window'; start: string; end: string };

export interface PrefetchRule {
  id: string;
  registry: string;
  /** A repository name or a glob over repository names. */
  repository: string;
  tags: TagSelector;
  /** 'host': this machine's OS/architecture; 'all'; or a list. */
  platforms: 'host' | 'all' | Platform[];
  schedule: Schedule;
  /** Bytes per second; absent means the registry's budget. */
  bandwidthLimit?: number;
  enabled: boolean;
  /** Take each tag's signatures, attestations and SBOMs along (OCI referrers and cosign's tags); absent means yes. */
  referrers?: boolean;
}

export interface RuleStatus {
  rule: PrefetchRule;
  tags: TagState[];
  lastCheck?: EpochMs;
  lastSuccess?: EpochMs;
  nextRun?: EpochMs;
}

export type JobState = 'queued' | 'planning' | 'running' | 'paused' | 'done' | 'failed' | 'cancelled';

export interface JobStatus {
  id: string;
  registry: string;
  repository: string;
  tags: string[];
  ruleId?: string;
  state: JobState;
  bytesDone: number;
  bytesTotal: number;
  blobsDone: number;
  blobsTotal: number;
  /** Signatures, attestations and SBOMs found attached to the job's tags (their blobs count in blobsTotal). */
  attachments?: number;
  bytesPerSecond: number;
  etaSeconds?: number;
  /** A reason a person can act on, when failed. */
  error?: string;
  createdAt: EpochMs;
  finishedAt?: EpochMs;
}

export interface PrefetchRequest {
  registry?: string;
  repository: string;
  tags?: TagSelector;
  platforms?: 'host' | 'all' | Platform[];
  bandwidthLimit?: number;
}

export interface EndpointSettings {
  url: string;
  username?: string;
  /** Write-only through the API: reads return hasPassword instead. */
  password?: string;
  hasPassword?: boolean;
  /** PEM bundle of extra CAs to trust for this endpoint. */
  caFile?: string;
  insecureSkipVerify?: boolean;
  /**
   * Put before every repository name on this endpoint only, e.g. "hub-proxy/" for a Harbor / MSR 4 proxy
   * project: library/alpine is asked there as hub-proxy/library/alpine, and as library/alpine elsewhere.
   */
  repositoryPrefix?: string;
}

/** A host a registry redirects blob downloads to (an MSR 2/3 content cache) whose TLS needs a CA of its own. */
export interface RedirectHostSettings {
  url: string;
  caFile?: string;
  insecureSkipVerify?: boolean;
}

export interface RegistrySettings {
  /** The name clients use: "docker.io", "dtr.example.com". */
  name: string;
  endpoints: EndpointSettings[];
  /** Default in-order. */
  endpointChoice?: EndpointChoice;
  redirectHosts?: RedirectHostSettings[];
  /** Whole-registry bandwidth budget in bytes per second, 0 = unlimited. */
  bandwidthLimit?: number;
  /** Limits by time of day; where one covers the current time it applies instead of bandwidthLimit (the first listed wins). */
  bandwidthWindows?: BandwidthWindow[];
  /** Serve only images signed with this cosign public key (PEM); others are refused with DENIED, online and offline. */
  requireSignature?: { publicKey: string };
}

/** A registry's budget from `start` to `end`, local time ("18:00" to "08:00" crosses midnight). */
export interface BandwidthWindow {
  /** HH:MM, local time. */
  start: string;
  /** HH:MM, local time; not inside the window. */
  end: string;
  /** 0 = unlimited inside the window. */
  bytesPerSecond: number;
}

/** PEM files for the mirror listener; required when it listens beyond loopback. */
export interface TlsSettings {
  certFile: string;
  keyFile: string;
}

/**
 * Who may pull through the mirror. 'upstream': each client's credentials are
 * checked against the upstream registry for the repository asked for, so
 * caching never widens access; 'htpasswd': the office's own bcrypt list.
 */
export type ClientAuthSettings = { mode: 'none' } | { mode: 'upstream' } | { mode: 'htpasswd'; file: string };

/** Protection for a mirror shared on the office LAN. */
export interface LimitSettings {
  /** Requests one client address may have in flight at once. */
  perClientConcurrency: number;
  /** Sustained requests per second per client address (bursts of 4x are allowed). */
  perClientRequestsPerSecond: number;
  /** A client that sends or reads nothing for this long is disconnected. */
  idleTimeoutSeconds: number;
}

export interface Settings {
  schemaVersion: number;
  listen: string;
  admin: string;
  defaultRegistry: string;
  registries: RegistrySettings[];
  /** Seconds a cached tag is served without asking the upstream. */
  tagFreshnessSeconds: number;
  /** 0 = no quota. */
  quotaBytes: number;
  rules: PrefetchRule[];
  startAtLogin: boolean;
  firstRunDone: boolean;
  tls?: TlsSettings;
  clientAuth?: ClientAuthSettings;
  limits?: LimitSettings;
  /**
   * Extra host names the mirror and the admin listener answer to (an office
   * box's DNS name). IP addresses, localhost, host.docker.internal and the TLS
   * certificate's names are always served; any other Host is refused, so a web
   * page cannot reach Layover through DNS rebinding.
   */
  allowedHosts?: string[];
  /**
   * Desktop app: run the admin HTTP listener (the dashboard in a browser and
   * the `layover` command line). Off by default there; the window uses IPC.
   * `layover serve` always runs it.
   */
  browserDashboard?: boolean;
  /** The office mesh (issue 15): off until the user joins. */
  mesh?: MeshSettings;
}

export interface ConnectionTestResult {
  ok: boolean;
  url: string;
  latencyMs?: number;
  /** The exact error, when not ok. */
  error?: string;
  /** What the registry said about auth: anonymous, basic, bearer. */
  auth?: string;
  /** For an endpoint with a repository prefix: a known repository asked through the prefix. */
  repositoryCheck?: { repository: string; ok: boolean; status?: number; detail: string };
}

export interface DockerStatus {
  available: boolean;
  version?: string;
  isDesktop?: boolean;
  mirrors: string[];
  /** Layover's mirror is among the engine's registry-mirrors (whether pulls really arrive is pullCheck). */
  usesLayover: boolean;
  /** The registry-mirrors entry that is Layover's for this engine: http://host.docker.internal:PORT on Docker Desktop. */
  layoverMirror?: string;
  /** Whether Docker's pulls really arrive at Layover; absent while Layover is not among the mirrors. */
  pullCheck?: DockerPullCheck;
  daemonJsonPath?: string;
  error?: string;
}

/** A probe pull asked of Docker through its API, and seen (or not) arriving at Layover's mirror. */
export interface DockerPullCheck {
  /** pending: Docker has not applied the change yet (Docker Desktop until it restarts). */
  outcome: 'reaches' | 'unreachable' | 'pending';
  /** "Docker's pulls reach Layover", or "Docker is configured with MIRROR but its pulls do not reach Layover: <likely cause>". */
  message: string;
  checkedAt: EpochMs;
}

export interface DockerConfigPreview {
  path: string;
  before: string;
  after: string;
  changed: boolean;
  /** How the change takes effect: "SIGHUP to dockerd (pid 123)", "restart Docker Desktop", or the command to run. */
  apply: string;
}

export interface RuntimeSnippet {
  runtime: 'podman' | 'containerd';
  path: string;
  content: string;
  explanation: string;
}

/** A simulated office link the demo can put between the client and its origin. */
export interface DemoLink {
  /** The profile's id ("asia-us-dtr"); absent for a link typed as a rate and a latency. */
  id?: string;
  /** "Asia office → US DTR", or "Custom link". */
  label: string;
  /** "20 Mbit/s, 180 ms". */
  description: string;
  /** Bytes per second from the origin to the office; 0 = unlimited. */
  downBytesPerSecond: number;
  /** One-way delay. */
  latencyMs: number;
}

/** The three pulls of the demo, in the order they run. */
export type DemoPullKind = 'direct' | 'cold' | 'warm';

export interface DemoPull {
  kind: DemoPullKind;
  /** "Straight over the office link", "Through Layover, cold", "Through Layover, warm". */
  label: string;
  /** The hops, e.g. "client → office link → origin". */
  route: string;
  state: 'waiting' | 'running' | 'done' | 'failed' | 'cancelled';
  /** Image bytes the client has received (manifest, config and layers). */
  bytesDone: number;
  bytesTotal: number;
  /** Elapsed while running; the pull's duration once done. */
  seconds: number;
  /** Bytes that crossed the simulated office link during this pull. */
  linkBytes: number;
}

/** What a finished demo measured: also the last line of `layover demo --json` (a contract). */
export interface DemoResult {
  /** Always true: origin, link and images are simulated on this machine. */
  simulation: true;
  /** The pulled image, e.g. "demo/app:1.0". */
  image: string;
  /** Bytes of the pulled image: manifest, config and layers. */
  bytes: number;
  layers: number;
  /** Who pulled: a real `docker pull`, or Layover's own verifying client when Docker was not reachable. */
  client: 'docker' | 'layover';
  link: DemoLink;
  directSeconds: number;
  coldSeconds: number;
  /** The warm pull through Layover. */
  cachedSeconds: number;
  /** Bytes over the office link during each pull. */
  linkBytes: Record<DemoPullKind, number>;
  /** directSeconds ÷ cachedSeconds. */
  speedup: number;
  /** "warm pull 74× faster; 0 bytes over the office link". */
  summary: string;
}

export type DemoState = 'idle' | 'preparing' | 'running' | 'done' | 'failed' | 'cancelled';

/** The demo: what it offers, and the current or last run. */
export interface DemoStatus {
  state: DemoState;
  /** Always true: the dashboard and the CLI label the demo as a simulation. */
  simulation: true;
  /** What is happening now, in words: "Generating the sample images", "Pull 2 of 3: through Layover, cold". */
  step: string;
  /** The run's link, or the default one before the first run. */
  link: DemoLink;
  /** The run's image; absent before the first run. */
  image?: { reference: string; bytes: number; layers: number };
  client?: 'docker' | 'layover';
  /** Always the three pulls, waiting before they run. */
  pulls: DemoPull[];
  result?: DemoResult;
  /** Why the run failed, in words a person can act on. */
  error?: string;
  startedAt?: EpochMs;
  finishedAt?: EpochMs;
  /** The links the picker offers; the first is the default. */
  profiles: DemoLink[];
  /** The pulled image's size when none is asked for. */
  defaultSizeBytes: number;
}

export interface DemoRequest {
  /** The pulled image's total size in bytes (the layers are scaled to it). */
  sizeBytes?: number;
  /** A profile id ("asia-us-dtr") or a rate and a latency ("20mbit,180ms"). */
  link?: string;
}

/** What a cache garbage collection (quota + LRU eviction) did. */
export interface GcReport {
  freedBytes: number;
  freedBlobs: number;
  /** The cache after the run. */
  bytesUsed: number;
  /** 0 = no quota. */
  quotaBytes: number;
  /** Kept because a rule's selected tags (or a running job) need them. */
  pinnedBytes: number;
  pinnedBlobs: number;
  /** Kept because a client was reading them or they were being fetched. */
  busyBlobs: number;
  /** One line a person can read. */
  summary: string;
}

export type LayoverEvent =
  | { type: 'status'; status: Status }
  | { type: 'request'; request: RequestRecord }
  | { type: 'transfer'; transfer: TransferStatus; done: boolean }
  | { type: 'job'; job: JobStatus }
  | { type: 'activity'; event: ActivityEvent }
  | { type: 'settings'; settings: Settings }
  | { type: 'demo'; demo: DemoStatus }
  | { type: 'bundle'; task: BundleTask };

// ------------------------------------------------------------ courier bundles (issue 17)

/** What goes into a bundle: repositories with the prefetch selectors, prefetch rules by id, or every enabled rule. */
export type BundleSelection =
  | { kind: 'repository'; registry?: string; repository: string; tags?: TagSelector; platforms?: 'host' | 'all' | Platform[] }
  | { kind: 'rule'; rule: string }
  | { kind: 'all-rules' };

export interface ExportRequest {
  selections: BundleSelection[];
  /** Absolute path on the instance's machine: ending in .tar an archive, otherwise a directory. */
  out: string;
  /** An inventory (`layover inventory`) or a previous bundle's layover-bundle.json: blobs listed there are left out. */
  have?: string;
}

/** A bundle's size and contents, known before it is written. */
export interface ExportPlan {
  tags: Array<{ registry: string; repository: string; tag: string; digest: string }>;
  manifests: number;
  blobs: number;
  /** Bytes of the manifests and blobs the bundle will hold. */
  bytes: number;
  /** Blobs left out because the other side holds them. */
  skippedBlobs: number;
  skippedBytes: number;
  /** Blobs the cache lacks: fetched through the upstream before writing. */
  missingBlobs: number;
  missingBytes: number;
}

export interface ExportResult {
  path: string;
  bytes: number;
  blobs: number;
  manifests: number;
  skippedBlobs: number;
  skippedBytes: number;
  tags: number;
}

export interface ImportRequest {
  /** A bundle directory or .tar on the instance's machine. */
  path: string;
  /** Days the imported content is kept from eviction (default 30; 0: not pinned). */
  pinDays?: number;
  /** For layouts without a tag snapshot (written by skopeo): record their ref names as tags of this repository. */
  repository?: string;
  /** The file was staged for this import (stdin) and is removed once read. */
  removeAfter?: boolean;
}

export interface RefusedEntry {
  /** The entry as the bundle names it: a blob path, a manifest digest, a tag. */
  entry: string;
  reason: string;
}

export interface ImportResult {
  path: string;
  added: string[];
  alreadyPresent: string[];
  refused: RefusedEntry[];
  addedBytes: number;
  /** registry/repository:tag recorded. */
  tags: string[];
  pinnedUntil?: EpochMs;
}

export interface InventoryResult {
  path: string;
  blobs: number;
  bytes: number;
}

export type BundleTaskState = 'running' | 'done' | 'failed';

/** An export or import in progress or finished: `bundle` events carry it live. */
export interface BundleTask {
  id: string;
  kind: 'export' | 'import';
  state: BundleTaskState;
  path: string;
  bytesDone: number;
  bytesTotal: number;
  blobsDone: number;
  blobsTotal: number;
  /** What it is doing now, in words. */
  step: string;
  startedAt: EpochMs;
  finishedAt?: EpochMs;
  error?: string;
  exported?: ExportResult;
  imported?: ImportResult;
}
