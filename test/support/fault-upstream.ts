/**
 * A small registry on loopback that can misbehave on purpose: for the faults
 * the real docker-registry cannot be made to show (a connection cut mid-body,
 * a wrong byte, a trickle, a redirect to another host, a 500 or a 429), and
 * for the Bearer token flow (the project's own tiny token server). Blobs
 * honour a single `Range: bytes=N-[M]` as a registry does (prefetch resumes
 * with it), and every request is recorded with its Range and the body bytes
 * sent, so a test can count what crossed the wire.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { LOOPBACK } from './ports.js';

export type Fault =
  | { kind: 'cut'; afterBytes: number }
  | { kind: 'wrong-byte'; at: number }
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  | { kind: 'trickle'; bytesPerSecond: number }
  | { kind: 'redirect'; to: string }
  /** Accepts the request and never answers. */
  | { kind: 'hang' }
  /** Sends the headers and this many body bytes, then goes silent with the connection open. */
  | { kind: 'stall'; afterBytes: number }
  /** A blob sent chunked, without Content-Length (some proxies and object stores do), at this pace. */
  | { kind: 'chunked'; bytesPerSecond: number };

export interface RecordedRequest {
  method: string;
  path: string;
  authorization?: string;
  /** The Range header the client sent, verbatim. */
  range?: string;
  /** Body bytes this server handed to the socket for this request (kept current while it sends). */
  bytesSent: number;
}

export interface FaultUpstreamOptions {
  /** Require a Bearer token from the built-in token server, optionally only for these credentials. */
  bearer?: { username?: string; password?: string; expiresIn?: number };
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: Buffer | string; key: Buffer | string };
}

export interface FaultUpstream {
  url: string;
  host: string;
  requests: RecordedRequest[];
  tokenRequests: Array<{ scope: string | null; service: string | null; basicUser?: string }>;
  /** Adds a blob; returns its digest. */
  addBlob(bytes: Buffer): string;
  /** Adds a manifest under a tag; returns its digest. */
  addManifest(repository: string, tag: string, manifest: unknown, mediaType?: string): string;
  /** Faults by path suffix (a digest, "manifests/latest"); `times` limits how often it fires (default always). */
  setFault(pathSuffix: string, fault: Fault, times?: number): void;
  clearFaults(): void;
  count(filter: { method?: string; pathIncludes?: string }): number;
  stop(): Promise<void>;
}

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

export async function startFaultUpstream(options: FaultUpstreamOptions = {}): Promise<FaultUpstream> {
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, { body: Buffer; mediaType: string }>();
  const tags = new Map<string, string>();
  const faults = new Map<string, { fault: Fault; remaining: number }>();
  const requests: RecordedRequest[] = [];
  const tokenRequests: FaultUpstream['tokenRequests'] = [];
  const issuedTokens = new Map<string, { scope: string | null; expiresAt: number }>();
  const hanging = new Set<ServerResponse>();
  let url = '';

  const takeFault = (path: string): Fault | undefined => {
    for (const [suffix, entry] of faults) {
      if (!path.endsWith(suffix)) continue;
      if (entry.remaining <= 0) continue;
      entry.remaining -= 1;
      return entry.fault;
    }
    return undefined;
  };

  const authorized = (req: IncomingMessage, path: string): boolean => {
    if (!options.bearer) return true;
    const token = req.headers.authorization?.replace(/^Bearer /, '');
    const issued = token ? issuedTokens.get(token) : undefined;
    const repository = /^\/v2\/(.+)\/(manifests|blobs|tags)\//.exec(path)?.[1];
    return Boolean(issued && issued.expiresAt > Date.now() && (!repository || issued.scope === `repository:${repository}:pull`));
  };

  const handler = (req: IncomingMessage, res: ServerResponse): unknown => {
    const { pathname, searchParams } = new URL(req.url ?? '/', 'http://x');
    if (pathname === '/token') return issueToken(req, res, searchParams);
    const record: RecordedRequest = {
      method: req.method ?? 'GET', path: pathname, bytesSent: 0,
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      ...(req.headers.range ? { range: req.headers.range } : {}),
    };
    requests.push(record);
    if (!authorized(req, pathname)) {
      const scope = /^\/v2\/(.+)\/(manifests|blobs|tags)\//.exec(pathname)?.[1];
      res.writeHead(401, {
        'www-authenticate': `Bearer realm="${url}/token",service="fault-upstream"${scope ? `,scope="repository:${scope}:pull"` : ''}`,
        'content-type': 'application/json',
      });
      return res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    }
    const fault = takeFault(pathname);
    if (fault?.kind === 'status') return res.writeHead(fault.status, fault.headers ?? {}).end();
    if (fault?.kind === 'redirect') return res.writeHead(307, { location: `${fault.to}${pathname}` }).end();
    if (fault?.kind === 'hang') return void hanging.add(res);
    if (pathname === '/v2/') return res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    const manifestMatch = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(pathname);
    if (manifestMatch) return serveManifest(req, res, manifestMatch[1]!, manifestMatch[2]!, fault);
    const blobMatch = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(pathname);
    if (blobMatch) return serveBlob(req, countingBody(res, record), blobMatch[2]!, fault);
    res.writeHead(404).end();
  };
  const server: Server = options.tls ? (createHttpsServer(options.tls, handler) as unknown as Server) : createServer(handler);

  function issueToken(req: IncomingMessage, res: ServerResponse, params: URLSearchParams): void {
    const basic = req.headers.authorization?.startsWith('Basic ') ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString() : undefined;
    const [user, password] = basic ? [basic.slice(0, basic.indexOf(':')), basic.slice(basic.indexOf(':') + 1)] : [];
    tokenRequests.push({ scope: params.get('scope'), service: params.get('service'), ...(user ? { basicUser: user } : {}) });
    const wanted = options.bearer;
    if (wanted?.username && (user !== wanted.username || password !== wanted.password)) {
      return void res.writeHead(401).end('{"details":"incorrect username or password"}');
    }
    const token = randomBytes(16).toString('hex');
    const expiresIn = wanted?.expiresIn ?? 300;
    issuedTokens.set(token, { scope: params.get('scope'), expiresAt: Date.now() + expiresIn * 1000 });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: expiresIn }));
  }

  function serveManifest(req: IncomingMessage, res: ServerResponse, repository: string, reference: string, fault: Fault | undefined): void {
    const digest = reference.includes(':') ? reference : tags.get(`${repository}:${reference}`);
    const manifest = digest ? manifests.get(digest) : undefined;
    if (!manifest || !digest) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}');
    const body = fault?.kind === 'wrong-byte' ? flipByte(manifest.body, fault.at) : manifest.body;
    res.writeHead(200, { 'content-type': manifest.mediaType, 'content-length': body.length, 'docker-content-digest': digest });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  function serveBlob(req: IncomingMessage, body: CountingBody, digest: string, fault: Fault | undefined): void {
    const { res } = body;
    const blob = blobs.get(digest);
    if (!blob) return void res.writeHead(404).end();
    const range = requestedRange(req.headers.range, blob.length);
    if (range === 'unsatisfiable') return void res.writeHead(416, { 'content-range': `bytes */${blob.length}` }).end();
    const bytes = range ? blob.subarray(range.start, range.end + 1) : blob;
    res.writeHead(range ? 206 : 200, {
      'content-type': 'application/octet-stream', 'docker-content-digest': digest,
      ...(fault?.kind === 'chunked' && req.method !== 'HEAD' ? {} : { 'content-length': bytes.length }),
      ...(range ? { 'content-range': `bytes ${range.start}-${range.end}/${blob.length}` } : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    if (fault?.kind === 'stall') {
      body.write(bytes.subarray(0, fault.afterBytes));
      hanging.add(res);
    } else if (fault?.kind === 'cut') {
      body.write(bytes.subarray(0, fault.afterBytes));
      setTimeout(() => res.destroy(), 50);
    } else if (fault?.kind === 'wrong-byte') {
      body.end(flipByte(bytes, fault.at));
    } else if (fault?.kind === 'trickle' || fault?.kind === 'chunked') {
      trickle(body, bytes, fault.bytesPerSecond);
    } else {
      body.end(bytes);
    }
  }

  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const port = (server.address() as AddressInfo).port;
  url = `${options.tls ? 'https' : 'http'}://${LOOPBACK}:${port}`;

  return {
    url,
    host: `${LOOPBACK}:${port}`,
    requests,
    tokenRequests,
    addBlob(bytes) {
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      blobs.set(digest, bytes);
      return digest;
    },
    addManifest(repository, tag, manifest, mediaType = MANIFEST_TYPE) {
      const body = Buffer.from(JSON.stringify(manifest));
      const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
      manifests.set(digest, { body, mediaType });
      tags.set(`${repository}:${tag}`, digest);
      return digest;
    },
    setFault(pathSuffix, fault, times = Infinity) {
      faults.set(pathSuffix, { fault, remaining: times });
    },
    clearFaults() {
      faults.clear();
    },
    count(filter) {
      return requests.filter((r) => (!filter.method || r.method === filter.method) && (!filter.pathIncludes || r.path.includes(filter.pathIncludes))).length;
    },
    async stop() {
      for (const res of hanging) res.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** A response whose body bytes are counted into the request's record as they are sent. */
interface CountingBody {
  res: ServerResponse;
  write(bytes: Buffer): void;
  end(bytes?: Buffer): void;
}

function countingBody(res: ServerResponse, record: RecordedRequest): CountingBody {
  return {
    res,
    write(bytes) {
      record.bytesSent += bytes.length;
      res.write(bytes);
    },
    end(bytes) {
      record.bytesSent += bytes?.length ?? 0;
      res.end(bytes);
    },
  };
}

/** One `bytes=N-` or `bytes=N-M` range, as registries honour it; anything else is ignored (the whole blob, 200). */
function requestedRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d+)-(\d*)$/.exec(header ?? '');
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = match[2] ? Math.min(Number(match[2]), size - 1) : size - 1;
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

function trickle(body: CountingBody, blob: Buffer, bytesPerSecond: number): void {
  const chunk = Math.max(1, Math.floor(bytesPerSecond / 10));
  let offset = 0;
  const timer = setInterval(() => {
    if (body.res.destroyed) return clearInterval(timer);
    const next = blob.subarray(offset, offset + chunk);
    offset += next.length;
    if (offset >= blob.length) {
      clearInterval(timer);
      body.end(next);
    } else body.write(next);
  }, 100);
}

function flipByte(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = copy[at]! ^ 0xff;
  return copy;
}
