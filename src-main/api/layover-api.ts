import type {
  Activity, CachedRepositoryPage, ConnectionTestResult, DemoRequest, DemoStatus, DockerConfigPreview, DockerStatus, EndpointSettings, GcReport, JobStatus,
  LayoverEvent, PrefetchRequest, PrefetchRule, RepositoryPage, RequestPage, RuleStatus, RuntimeSnippet,
  Settings, Status, TagState, BundleTask, ExportPlan, ExportRequest, ImportRequest, InventoryResult, OfficeMeshJoined,
} from './types.js';

/**
 * The one service interface of Layover. The Electron shell exposes it over IPC
 * through the preload bridge; `layover serve` exposes it over HTTP + SSE. The
 * dashboard is written once against it. Every method takes at most one
 * JSON-serialisable argument so that both transports stay generic.
 */
export interface LayoverApi {
  getStatus(): Promise<Status>;
  /** Live updates; returns the unsubscribe function. */
  subscribe(listener: (event: LayoverEvent) => void): () => void;

  getActivity(): Promise<Activity>;

  listRepositories(args: { registry: string; query?: string; cursor?: string }): Promise<RepositoryPage>;
  listTags(args: { registry: string; repository: string }): Promise<TagState[]>;
  /** What the cache itself holds: its repositories whose name contains `query`, a page of at most `limit` (default 50, at most MAX_PAGE_SIZE). */
  listCachedRepositories(args: { registry?: string; query?: string; cursor?: string; limit?: number }): Promise<CachedRepositoryPage>;
  /** Recent requests, newest first: those whose image, client or status contains `query`, of a kind, a page at a time. */
  listRequests(args: { query?: string; kind?: 'all' | 'manifests' | 'errors'; cursor?: string; limit?: number }): Promise<RequestPage>;

  prefetch(args: PrefetchRequest): Promise<JobStatus>;
  listJobs(): Promise<JobStatus[]>;
  pauseJob(args: { id: string }): Promise<JobStatus>;
  resumeJob(args: { id: string }): Promise<JobStatus>;
  cancelJob(args: { id: string }): Promise<JobStatus>;
  setPrefetchPaused(args: { paused: boolean }): Promise<void>;

  listRules(): Promise<RuleStatus[]>;
  saveRule(args: PrefetchRule): Promise<PrefetchRule>;
  deleteRule(args: { id: string }): Promise<void>;
  syncNow(args: { ruleId?: string }): Promise<JobStatus[]>;
  /** Evicts least-recently-used content no rule pins, down to the cache quota, and says what it freed. */
  gc(): Promise<GcReport>;

  getSettings(): Promise<Settings>;
  updateSettings(args: Partial<Settings>): Promise<Settings>;
  testConnection(args: EndpointSettings): Promise<ConnectionTestResult>;

  /** Docker's state; whether its pulls reach Layover is checked at most every few minutes, or now with recheck. */
  getDockerStatus(args?: { recheck?: boolean }): Promise<DockerStatus>;
  previewDockerConfig(args: { revert?: boolean }): Promise<DockerConfigPreview>;
  applyDockerConfig(args: { revert?: boolean }): Promise<DockerStatus>;
  pullThroughLayover(args: { reference: string }): Promise<{ reference: string; digest?: string }>;
  runtimeSnippets(): Promise<RuntimeSnippet[]>;

  /** The demo (a simulation on this machine): its offers and the current or last run; `demo` events follow it live. */
  getDemo(): Promise<DemoStatus>;
  /** Starts a run in the background; refused while one runs. */
  startDemo(args: DemoRequest): Promise<DemoStatus>;
  /** Stops the running demo and everything it started; resolves once all of it is gone. */
  cancelDemo(): Promise<DemoStatus>;

  /** Courier bundles: a bundle's size and contents before writing it. */
  planExport(args: ExportRequest): Promise<ExportPlan>;
  /** Writes a bundle in the background; `bundle` events (and listBundleTasks) follow it. */
  startExport(args: ExportRequest): Promise<BundleTask>;
  /** Writes what this instance holds, for the other side's `--have`. */
  writeInventory(args: { out: string }): Promise<InventoryResult>;
  /** Imports a bundle in the background, every blob verified. */
  startImport(args: ImportRequest): Promise<BundleTask>;
  listBundleTasks(): Promise<BundleTask[]>;

  /** Office mesh: makes a new office key (owner-only, in the data dir), turns the mesh on, and returns the join code for colleagues. */
  createOfficeMesh(): Promise<OfficeMeshJoined>;
  /** Office mesh: joins with a colleague's join code (a typo is refused, nothing written) and turns the mesh on. */
  joinOfficeMesh(args: { code: string }): Promise<OfficeMeshJoined>;
  /** Office mesh: off. The key file stays, so joining again needs no new code. */
  leaveOfficeMesh(): Promise<Settings>;
}

/** The names of the request/response methods, for the generic transports. */
export type LayoverMethod = Exclude<keyof LayoverApi, 'subscribe'>;

export const LAYOVER_METHODS: readonly LayoverMethod[] = [
  'getStatus', 'getActivity', 'listRepositories', 'listTags', 'listCachedRepositories', 'listRequests', 'prefetch', 'listJobs',
  'pauseJob', 'resumeJob', 'cancelJob', 'setPrefetchPaused', 'listRules', 'saveRule',
  'deleteRule', 'syncNow', 'gc', 'getSettings', 'updateSettings', 'testConnection',
  'getDockerStatus', 'previewDockerConfig', 'applyDockerConfig', 'pullThroughLayover',
  'runtimeSnippets', 'getDemo', 'startDemo', 'cancelDemo',
  'planExport', 'startExport', 'writeInventory', 'startImport', 'listBundleTasks',
  'createOfficeMesh', 'joinOfficeMesh', 'leaveOfficeMesh',
];
