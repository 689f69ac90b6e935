import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { RequestRecord } from '../api/types.js';
import type { BlobFetcher, BlobHandle } from '../core/fetch/blob-fetcher.js';
import type { Manifest, ManifestFetcher } from '../core/fetch/manifest-fetcher.js';
import type { TagLister } from '../core/fetch/tag-lister.js';
import type { ReferrersFetcher } from '../core/fetch/referrers.js';
import type { SignaturePolicy } from '../core/fetch/signature-policy.js';
import { referrersIndex } from '../core/oci/referrers.js';
import { OciError, isOciError } from '../core/oci/errors.js';
import { INDEX_MEDIA_TYPES, parseAccept } from '../core/oci/media-types.js';
import { compareLexically, paginate, parsePageSize } from '../core/oci/pagination.js';
import type { MetadataIndex } from '../core/store/metadata.js';
import type { Telemetry } from '../core/telemetry/telemetry.js';
import type { HostPolicy } from '../core/net/allowed-hosts.js';
import { type RegistryRouter, type ResolvedName } from '../core/routing/registry-routing.js';
import { parseRoute, type Route } from '../core/oci/routes.js';
import { API_VERSION_HEADER, blobHeaders, checkDigest, checkReference, parseRange, rangeNotSatisfiable, sendJson, sendOciError, sendPage } from '../core/oci/responses.js';
import type { ClientAuthorizer } from './client-auth.js';
import type { ClientLimiter } from './client-limits.js';
import { PROBE_REPOSITORY } from '../core/telemetry/pull-probes.js';
import { isProbeRecordRequest, probeArrived, probeNonce, sendProbeRecord } from './pull-probe.js';

export interface MirrorDependencies {
  /** A function, because settings changes replace the router while the server runs. */
  router: () => RegistryRouter;
  blobs: BlobFetcher;
  manifests: ManifestFetcher;
  tags: TagLister;
  referrers: ReferrersFetcher;
  /** Refuses unsigned images of registries that require signatures. */
  signatures?: SignaturePolicy;
  metadata: MetadataIndex;
  telemetry: Telemetry;
  logger: Logger;
  /** Who may read what; undefined leaves the mirror open (a workstation on loopback). */
  authorizer?: () => ClientAuthorizer | undefined;
  limiter?: ClientLimiter;
  /** The host names this mirror answers to; any other Host is refused (DNS rebinding). */
  hosts: () => HostPolicy;
}

/** A read-only mirror has no use for request bodies; anything larger is refused unread. */
const MAX_REQUEST_BODY_BYTES = 64 * 1024;

/** Platform served to clients that cannot read an index (what distribution does too). */
const DEFAULT_PLATFORM = { os: 'linux', architecture: 'amd64' };

/** What a handler learned, for the request log and the dashboard's activity list. */
interface RequestNote {
  registry: string;
  repository?: string;
  kind: string;
  reference?: string;
  cache?: RequestRecord['cache'];
  bytes: number;
  error?: string;
  staleReason?: string;
}

/** The /v2 HTTP front: routing, names, errors, Range. Read-only. The app puts it on an HTTP or HTTPS server. */
export function createMirrorHandler(deps: MirrorDependencies): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = Date.now();
    const note: RequestNote = { registry: deps.router().default.name, kind: 'other', bytes: 0 };
    res.on('close', () => logRequest(deps, req, res, note, started));
    handle(deps, req, res, note).catch((error) => sendError(res, note, error, deps.logger));
  };
}

async function handle(deps: MirrorDependencies, req: IncomingMessage, res: ServerResponse, note: RequestNote): Promise<void> {
  // Before anything else: a rebinding page must not even learn what is cached.
  if (!deps.hosts().allows(req.headers.host)) throw new OciError(403, 'DENIED', deps.hosts().refusal(req.headers.host));
  if (deps.limiter) res.once('close', deps.limiter.admit(req.socket.remoteAddress ?? 'unknown'));
  if (Number(req.headers['content-length'] ?? 0) > MAX_REQUEST_BODY_BYTES) throw new OciError(413, 'UNSUPPORTED', 'request body too large for a read-only mirror');
  const url = new URL(req.url ?? '/', 'http://mirror.invalid');
  if (isProbeRecordRequest(url.pathname)) {
    note.kind = 'probe-record';
    return sendProbeRecord(deps.telemetry.probes, req, res, url.pathname);
  }
  const route = parseRoute(req.method ?? 'GET', url.pathname);
  note.kind = route.kind;
  const nonce = probeNonce(route, url.searchParams.get('ns'));
  if (nonce !== undefined) {
    Object.assign(note, { kind: 'probe', repository: PROBE_REPOSITORY, reference: nonce });
    throw probeArrived(deps.telemetry.probes, req, nonce);
  }
  const authorizer = deps.authorizer?.();
  if (route.kind === 'base') {
    await authorizer?.authorizeLogin(req.headers, deps.router().all());
    return sendJson(req, res, 200, {});
  }
  if (route.kind === 'catalog') return sendCatalog(deps, req, res, url, authorizer);
  const name = deps.router().resolve(route.path, url.searchParams.get('ns'));
  note.registry = name.client.name;
  note.repository = name.repository;
  await authorizer?.authorize(req.headers, name.client, name.repository);
  switch (route.kind) {
    case 'tags':
      return sendTags(deps, req, res, url, name, route);
    case 'manifest':
      note.reference = route.reference;
      return sendManifest(deps, req, res, name, route.reference, note);
    case 'blob':
      note.reference = route.digest;
      return sendBlob(deps, req, res, name, route.digest, note);
    case 'referrers':
      note.reference = route.digest;
      return sendReferrers(deps, req, res, url, name, route, note);
  }
}

async function sendManifest(deps: MirrorDependencies, req: IncomingMessage, res: ServerResponse, name: ResolvedName, reference: string, note: RequestNote): Promise<void> {
  checkReference(reference);
  let manifest = await deps.manifests.get({ ...name, reference });
  note.cache = manifest.cache;
  await deps.signatures?.admit({ ...name, reference }, manifest);
  manifest = await negotiate(deps, name, manifest, parseAccept(req.headers.accept));
  const headers: Record<string, string> = {
    'content-type': manifest.mediaType,
    'content-length': String(manifest.body.length),
    'docker-content-digest': manifest.digest,
    etag: `"${manifest.digest}"`,
    'x-layover-cache': manifest.cache,
  };
  if (manifest.cache === 'stale') {
    note.staleReason = manifest.staleReason ?? 'the upstream did not answer';
    headers.warning = `110 layover "Response is stale: ${isPullLimit(note.staleReason) ? 'upstream pull limit reached' : 'upstream unavailable'}"`;
  }
  if (req.headers['if-none-match'] === headers.etag) {
    res.writeHead(304, { ...API_VERSION_HEADER, etag: headers.etag, 'docker-content-digest': manifest.digest }).end();
    return;
  }
  res.writeHead(200, { ...API_VERSION_HEADER, ...headers });
  note.bytes = req.method === 'HEAD' ? 0 : manifest.body.length;
  res.end(req.method === 'HEAD' ? undefined : manifest.body);
}

/**
 * Serves the manifest in a media type the client accepts. A client that
 * cannot read an index gets the linux/amd64 image from it, as distribution does.
 */
async function negotiate(deps: MirrorDependencies, name: ResolvedName, manifest: Manifest, accepted: Set<string> | undefined): Promise<Manifest> {
  if (!accepted || accepted.has(manifest.mediaType)) return manifest;
  if (INDEX_MEDIA_TYPES.includes(manifest.mediaType)) {
    const child = pickPlatform(manifest.body, accepted);
    if (child) return deps.manifests.get({ ...name, reference: child });
  }
  throw new OciError(404, 'MANIFEST_UNKNOWN', `manifest is ${manifest.mediaType}, which the client does not accept (${[...accepted].join(', ')})`);
}

function pickPlatform(indexBody: Buffer, accepted: Set<string>): string | undefined {
  const index = JSON.parse(indexBody.toString('utf8')) as { manifests?: Array<{ digest: string; mediaType?: string; platform?: { os?: string; architecture?: string } }> };
  const match = index.manifests?.find((entry) =>
    entry.platform?.os === DEFAULT_PLATFORM.os && entry.platform.architecture === DEFAULT_PLATFORM.architecture && (!entry.mediaType || accepted.has(entry.mediaType)));
  return match?.digest;
}

async function sendBlob(deps: MirrorDependencies, req: IncomingMessage, res: ServerResponse, name: ResolvedName, digest: string, note: RequestNote): Promise<void> {
  checkDigest(digest);
  const common = blobHeaders(digest);
  if (req.method === 'HEAD') {
    const size = await deps.blobs.size({ ...name, digest });
    note.cache = deps.blobs.isInFlight(digest) ? 'miss' : undefined;
    res.writeHead(200, { ...common, 'content-length': String(size) }).end();
    return;
  }
  let source = await deps.blobs.open({ ...name, digest, kind: 'pull' });
  note.cache = source.cache;
  // A chunked upstream: a range needs the size, which only the finished blob knows (the same transfer, followed).
  if (source.size === undefined && req.headers.range) source = await source.sized();
  const range = source.size === undefined ? undefined : parseRange(source.size, req.headers.range);
  if (range === 'unsatisfiable') throw rangeNotSatisfiable(req.headers.range, source.size!);
  if (range) {
    res.writeHead(206, { ...common, 'content-length': String(range.end - range.start + 1), 'content-range': `bytes ${range.start}-${range.end}/${source.size}`, 'x-layover-cache': source.cache });
  } else {
    res.writeHead(200, { ...common, ...(source.size === undefined ? {} : { 'content-length': String(source.size) }), 'x-layover-cache': source.cache });
  }
  await streamBody(source, range ?? { start: 0, end: source.size === undefined ? Infinity : source.size - 1 }, res, note);
}

/** Sends the bytes; if the source fails, the response is destroyed so the client sees an error, not a short body. */
async function streamBody(source: BlobHandle, range: { start: number; end: number }, res: ServerResponse, note: RequestNote): Promise<void> {
  try {
    await source.sendTo(res, range.start, range.end, (bytes) => (note.bytes += bytes));
    res.end();
  } catch (error) {
    note.error = (error as Error).message;
    res.destroy();
  }
}

/** Referrers answers longer than this are paged with Link even when the client did not ask for n. */
const REFERRERS_PAGE_SIZE = 500;

/**
 * OCI 1.1 referrers: an image index of the manifests whose `subject` is this
 * digest, optionally only those of the asked artifactType(s) (then
 * OCI-Filters-Applied says so). An unsigned image gets an empty index, never
 * a 404. Pages are in digest order, continued with `last` as tags are.
 */
async function sendReferrers(deps: MirrorDependencies, req: IncomingMessage, res: ServerResponse, url: URL, name: ResolvedName, route: Extract<Route, { kind: 'referrers' }>, note: RequestNote): Promise<void> {
  checkDigest(route.digest);
  const n = parsePageSize(url.searchParams.get('n')) ?? REFERRERS_PAGE_SIZE;
  const wanted = url.searchParams.getAll('artifactType').filter(Boolean);
  const referrers = await deps.referrers.get({ ...name, subject: route.digest });
  note.cache = referrers.cache;
  const matching = wanted.length === 0 ? referrers.descriptors : referrers.descriptors.filter((descriptor) => wanted.includes(descriptor.artifactType ?? ''));
  const byDigest = new Map(matching.map((descriptor) => [descriptor.digest, descriptor]));
  const page = paginate([...byDigest.keys()].sort(compareLexically), n, url.searchParams.get('last'));
  const headers: Record<string, string> = { 'content-type': 'application/vnd.oci.image.index.v1+json', 'x-layover-cache': referrers.cache };
  if (wanted.length > 0) headers['oci-filters-applied'] = 'artifactType';
  if (referrers.cache === 'stale') headers.warning = `110 layover "Response is stale: upstream unavailable"`;
  const body = referrersIndex(page.items.map((digest) => byDigest.get(digest)!));
  note.bytes = req.method === 'HEAD' ? 0 : Buffer.byteLength(JSON.stringify(body));
  sendPage(req, res, url.pathname, url, page, body, headers);
}

async function sendTags(deps: MirrorDependencies, req: IncomingMessage, res: ServerResponse, url: URL, name: ResolvedName, route: Extract<Route, { kind: 'tags' }>): Promise<void> {
  const n = parsePageSize(url.searchParams.get('n'));
  const list = await deps.tags.list(name.client, name.repository);
  const page = paginate(list.tags, n, url.searchParams.get('last'));
  const extra: Record<string, string> = list.stale ? { 'x-layover-cache': 'stale' } : {};
  sendPage(req, res, url.pathname, url, page, { name: route.path, tags: page.items }, extra);
}

/** What the cache holds; with client auth, only the repositories this client may read. */
async function sendCatalog(deps: MirrorDependencies, req: IncomingMessage, res: ServerResponse, url: URL, authorizer: ClientAuthorizer | undefined): Promise<void> {
  const n = parsePageSize(url.searchParams.get('n'));
  const router = deps.router();
  await authorizer?.authorizeLogin(req.headers, router.all());
  const names: string[] = [];
  for (const { registry, repository } of deps.metadata.repositories()) {
    const client = router.find(registry);
    if (!client) continue;
    if (authorizer && !(await authorizer.authorize(req.headers, client, repository).then(() => true, () => false))) continue;
    names.push(registry === router.default.name ? repository : `${registry}/${repository}`);
  }
  const page = paginate([...new Set(names)].sort(compareLexically), n, url.searchParams.get('last'));
  sendPage(req, res, '/v2/_catalog', url, page, { repositories: page.items });
}

function sendError(res: ServerResponse, note: RequestNote, error: unknown, logger: Logger): void {
  if (!isOciError(error)) logger.error({ err: error }, 'unexpected error while serving a request');
  note.error = sendOciError(res, error).message;
}

/** A stale answer because the upstream refused with 429 (Docker Hub's pull limit), not because it was down. */
function isPullLimit(reason: string): boolean {
  return /rate-limiting|HTTP 429/.test(reason);
}

function logRequest(deps: MirrorDependencies, req: IncomingMessage, res: ServerResponse, note: RequestNote, started: number): void {
  const record: Omit<RequestRecord, 'id'> = {
    at: started,
    method: req.method ?? 'GET',
    registry: note.registry,
    kind: note.kind,
    status: res.writableFinished ? res.statusCode : 499,
    bytes: note.bytes,
    durationMs: Date.now() - started,
    client: req.socket.remoteAddress ?? 'unknown',
    ...(note.repository ? { repository: note.repository } : {}),
    ...(note.reference ? { reference: note.reference } : {}),
    ...(note.cache ? { cache: note.cache } : {}),
    ...(note.error ? { error: note.error } : {}),
    ...(note.staleReason ? { staleReason: note.staleReason } : {}),
  };
  deps.logger.info({ req: { method: record.method, url: req.url, client: record.client }, status: record.status, bytes: record.bytes, ms: record.durationMs, cache: record.cache, registry: record.registry, error: record.error }, 'request');
  // The API root and probe-record reads are plumbing, not pulls: the activity list would only be noisier with them.
  if (record.kind !== 'base' && record.kind !== 'probe-record') deps.telemetry.recordRequest(record);
}
