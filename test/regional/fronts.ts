/**
 * Small HTTP fronts written for the regional-cache tests, each in front of a
 * real docker-registry on loopback: they pass every request through, record
 * what crossed (method, path, whether Authorization came along, the status),
 * and change only what the test is about:
 * - an MSR 2/3 central registry: blob GETs it would answer are answered
 *   with a 307 to the user's content cache instead (after the client's own
 *   credentials were checked by the registry, as MSR does);
 * - Docker Hub's pull limit: ratelimit-* headers on manifest answers, a
 *   count of manifest GETs against the limit, and 429 once it is spent.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { LOOPBACK } from '../support/ports.js';

export interface FrontRecord {
  method: string;
  path: string;
  /** The query string, without "?". */
  query: string;
  authorization: boolean;
  status: number;
}

export interface Front {
  url: string;
  host: string;
  records: FrontRecord[];
  count(filter: { method?: string; pathIncludes?: string; status?: number; authorization?: boolean }): number;
  stop(): Promise<void>;
}

/** What a front may answer by itself; undefined passes the request through. */
export type Intercept = (req: IncomingMessage, path: string) => Promise<{ status: number; headers?: Record<string, string>; body?: string } | undefined>;

export interface FrontOptions {
  /** The real registry behind, http://127.0.0.1:PORT. */
  target: string;
  tls?: { cert: string; key: string };
  intercept?: Intercept;
  /** Headers added to a passed-through answer (given the request and the registry's status). */
  addHeaders?: (req: IncomingMessage, path: string, status: number) => Record<string, string>;
  /** Pass bodies through at this rate (a regional cache on a slow link from this office). */
  bytesPerSecond?: number;
}

export async function startFront(options: FrontOptions): Promise<Front> {
  const records: FrontRecord[] = [];
  const target = new URL(options.target);
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://front.invalid');
    const record: FrontRecord = { method: req.method ?? 'GET', path: url.pathname, query: url.search.slice(1), authorization: req.headers.authorization !== undefined, status: 0 };
    records.push(record);
    void (async () => {
      const own = await options.intercept?.(req, url.pathname);
      if (own) {
        record.status = own.status;
        res.writeHead(own.status, { 'content-length': String(Buffer.byteLength(own.body ?? '')), ...own.headers }).end(own.body);
        return;
      }
      const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } }, (answer) => {
        record.status = answer.statusCode ?? 0;
        res.writeHead(answer.statusCode ?? 502, { ...answer.headers, ...options.addHeaders?.(req, url.pathname, record.status) });
        if (options.bytesPerSecond) void trickle(answer, res, options.bytesPerSecond).catch(() => res.destroy());
        else answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    })().catch(() => res.destroy());
  };
  const server: Server = options.tls ? (createHttpsServer(options.tls, handler) as unknown as Server) : createServer(handler);
  await new Promise<void>((listening) => server.listen(0, LOOPBACK, listening));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${options.tls ? 'https' : 'http'}://${LOOPBACK}:${port}`,
    host: `${LOOPBACK}:${port}`,
    records,
    count: (filter) => records.filter((r) =>
      (filter.method === undefined || r.method === filter.method)
      && (filter.pathIncludes === undefined || r.path.includes(filter.pathIncludes))
      && (filter.status === undefined || r.status === filter.status)
      && (filter.authorization === undefined || r.authorization === filter.authorization)).length,
    stop: () => new Promise<void>((closed) => {
      server.closeAllConnections();
      server.close(() => closed());
    }),
  };
}

/** Copies a body at a bounded rate, in slices of a tenth of a second's worth. */
async function trickle(from: IncomingMessage, to: ServerResponse, bytesPerSecond: number): Promise<void> {
  const slice = Math.max(1, Math.floor(bytesPerSecond / 10));
  for await (const chunk of from) {
    for (let offset = 0; offset < (chunk as Buffer).length; offset += slice) {
      const part = (chunk as Buffer).subarray(offset, offset + slice);
      if (!to.write(part)) await new Promise((drained) => to.once('drain', drained));
      await new Promise((paced) => setTimeout(paced, (part.length / bytesPerSecond) * 1000));
    }
  }
  to.end();
}

const BLOB_PATH = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/;

/**
 * The central MSR 2/3: a blob GET the registry would answer for this client
 * (asked by HEAD with the client's own Authorization) is answered with a 307
 * to the content cache, on a signed-looking URL of the cache's own.
 */
export function redirectBlobsTo(registryUrl: string, cacheUrl: () => string): Intercept {
  return async (req, path) => {
    const blob = BLOB_PATH.exec(path);
    if (req.method !== 'GET' || !blob) return undefined;
    const allowed = await fetch(`${registryUrl}${path}`, { method: 'HEAD', headers: req.headers.authorization ? { authorization: req.headers.authorization } : {} });
    if (allowed.status !== 200) return undefined; // the registry's own answer (401, 404) passes through
    return { status: 307, headers: { location: `${cacheUrl()}${path}?expires=4102444800&signature=test` } };
  };
}

/** Docker Hub's pull limit: manifest GETs count, HEADs do not; past the limit, manifest GETs get 429. */
export class PullLimit {
  used = 0;
  constructor(readonly limit: number, readonly windowSeconds = 21_600) {}

  get remaining(): number {
    return Math.max(0, this.limit - this.used);
  }

  headers(): Record<string, string> {
    return {
      'ratelimit-limit': `${this.limit};w=${this.windowSeconds}`,
      'ratelimit-remaining': `${this.remaining};w=${this.windowSeconds}`,
      'docker-ratelimit-source': '192.0.2.10',
    };
  }

  intercept: Intercept = async (req, path) => {
    if (req.method !== 'GET' || !path.includes('/manifests/')) return undefined;
    if (this.remaining > 0) {
      this.used += 1;
      return undefined;
    }
    return {
      status: 429,
      headers: { 'content-type': 'application/json', 'retry-after': '3600', ...this.headers() },
      body: JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'You have reached your pull rate limit.' }] }),
    };
  };

  addHeaders = (_req: IncomingMessage, path: string): Record<string, string> => (path.includes('/manifests/') ? this.headers() : {});
}
