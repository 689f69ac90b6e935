import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { serialize as serializeCookie } from 'cookie';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { LayoverApi, LayoverMethod } from '../api/layover-api.js';
import { LAYOVER_METHODS } from '../api/layover-api.js';
import { API_PREFIX, EVENTS_PATH, LOGIN_PATH, LOGIN_URL_PATH, type ApiErrorBody } from '../api/http-client.js';
import { DASHBOARD_CONTENT_SECURITY_POLICY } from '../api/content-security-policy.js';
import type { HostPolicy } from '../core/net/allowed-hosts.js';
import type { AdminAccess } from './admin-access.js';

export interface AdminDependencies {
  api: LayoverApi;
  metrics: Registry;
  logger: Logger;
  /** The built dashboard (dist/renderer); absent when it was not built. */
  dashboardDir?: string;
  /** Who may call: the admin token, browser sessions, the metrics token. */
  access: AdminAccess;
  /** The host names this listener answers to (DNS rebinding). */
  hosts: () => HostPolicy;
  /** Whether the listener speaks HTTPS (its origin's scheme; the session cookie is then Secure). */
  tls?: boolean;
}

/** Larger API bodies are refused: settings and rules are small. */
const MAX_BODY_BYTES = 1024 * 1024;
const SSE_HEARTBEAT_MS = 15_000;
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.woff2': 'font/woff2',
};
/** Where a login may send the browser after it: the dashboard, optionally one of its pages. */
const LOGIN_NEXT = /^\/(#\/[A-Za-z0-9-]*)?$/;

/**
 * The admin listener of `layover serve`: LayoverApi over HTTP (one POST per
 * method) with live updates by Server-Sent Events, Prometheus /metrics, and
 * the dashboard's static files.
 */
export function createAdminServer(deps: AdminDependencies): Server {
  return createServer((req, res) => {
    route(deps, req, res).catch((error) => {
      deps.logger.error({ err: error }, 'admin request failed');
      if (!res.headersSent) sendJson(res, 500, { error: { message: 'internal error; see the log', code: 'INTERNAL' } });
      else res.destroy();
    });
  });
}

async function route(deps: AdminDependencies, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!deps.hosts().allows(req.headers.host)) return sendJson(res, 403, apiError(deps.hosts().refusal(req.headers.host), 'HOST_NOT_ALLOWED'));
  const url = new URL(req.url ?? '/', 'http://admin.invalid');
  if (url.pathname === '/healthz') return sendJson(res, 200, { ok: true });
  if (url.pathname === LOGIN_PATH) return logIn(deps, req, res, url);
  if (url.pathname.startsWith(API_PREFIX) || url.pathname === '/metrics') {
    const crossSite = crossSiteProblem(deps, req, url.pathname);
    if (crossSite) return sendJson(res, 403, apiError(crossSite, 'CROSS_SITE'));
    const cookie = sessionCookieName(req);
    const credential = url.pathname === '/metrics' ? deps.access.forMetrics(req, cookie) : deps.access.forApi(req, cookie);
    if (!credential) return sendJson(res, 401, apiError(notLoggedIn(url.pathname), 'UNAUTHORIZED'));
    if (url.pathname === '/metrics') return sendMetrics(deps, res);
    if (url.pathname === EVENTS_PATH) return streamEvents(deps, req, res);
    if (url.pathname === LOGIN_URL_PATH) return sendJson(res, 200, { url: loginUrl(deps, req) });
    return callApi(deps, req, res, url.pathname);
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, apiError('method not allowed', 'METHOD'));
  return serveDashboard(deps, url.pathname, res);
}

/**
 * Why a request may come from another site's page, if it may. Cross-site
 * requests never reach the API: JSON bodies only (a form or a no-cors fetch
 * cannot send application/json), and a browser's Origin must be our own.
 */
function crossSiteProblem(deps: AdminDependencies, req: IncomingMessage, pathname: string): string | undefined {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== ownOrigin(deps, req)) return `requests from ${origin} are not accepted: the control API serves only its own dashboard`;
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `cross-site requests (${site}) are not accepted: the control API serves only its own dashboard`;
  const isCall = pathname !== EVENTS_PATH && pathname !== '/metrics';
  if (isCall && !isJson(req.headers['content-type'])) return 'API calls must be sent as Content-Type: application/json';
  return undefined;
}

function isJson(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase() === 'application/json';
}

function ownOrigin(deps: AdminDependencies, req: IncomingMessage): string {
  return `${deps.tls ? 'https' : 'http'}://${req.headers.host ?? ''}`;
}

function notLoggedIn(pathname: string): string {
  return pathname === '/metrics'
    ? '/metrics needs the admin token, the metrics token (--metrics-token-file), or layover serve --metrics-public'
    : 'not logged in: run `layover dashboard` (or the tray\'s "Open dashboard in browser") for a login link, or present the admin token';
}

/** Cookies are not kept apart by port: the name carries it, so two instances on one host keep their own sessions. */
function sessionCookieName(req: IncomingMessage): string {
  return `layover_session_${req.socket.localPort ?? 0}`;
}

/** A URL that logs a browser in once, on the address this request reached us by. */
function loginUrl(deps: AdminDependencies, req: IncomingMessage): string {
  return `${ownOrigin(deps, req)}${LOGIN_PATH}?code=${deps.access.issueLoginCode()}`;
}

/** GET /login?code=…: a valid one-time code becomes a session cookie, and the browser goes on to the dashboard. */
function logIn(deps: AdminDependencies, req: IncomingMessage, res: ServerResponse, url: URL): void {
  if (req.method !== 'GET') return sendJson(res, 405, apiError('log in with GET /login?code=…', 'METHOD'));
  const session = deps.access.redeemLoginCode(url.searchParams.get('code') ?? '');
  if (!session) {
    res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
      .end('This login link was already used or has expired. Run `layover dashboard` (or use the tray\'s "Open dashboard in browser") for a fresh one.\n');
    return;
  }
  const next = url.searchParams.get('next') ?? '/';
  const cookie = serializeCookie(sessionCookieName(req), session, { httpOnly: true, sameSite: 'strict', path: '/', secure: Boolean(deps.tls) });
  res.writeHead(303, { location: LOGIN_NEXT.test(next) ? next : '/', 'set-cookie': cookie, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' }).end();
}

async function sendMetrics(deps: AdminDependencies, res: ServerResponse): Promise<void> {
  const text = await deps.metrics.metrics();
  res.writeHead(200, { 'content-type': deps.metrics.contentType }).end(text);
}

async function callApi(deps: AdminDependencies, req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
  const method = pathname.slice(`${API_PREFIX}/call/`.length) as LayoverMethod;
  if (!pathname.startsWith(`${API_PREFIX}/call/`) || !LAYOVER_METHODS.includes(method)) {
    return sendJson(res, 404, apiError(`no such API method: ${pathname}`, 'NOT_FOUND'));
  }
  if (req.method !== 'POST') return sendJson(res, 405, apiError('API calls are POST', 'METHOD'));
  let argument: unknown;
  try {
    const body = await readBody(req);
    argument = body.length ? JSON.parse(body.toString('utf8')) : undefined;
  } catch (error) {
    return sendJson(res, 400, apiError(`bad request body: ${(error as Error).message}`, 'BAD_REQUEST'));
  }
  try {
    const invoke = deps.api[method] as (arg: unknown) => Promise<unknown>;
    const result = await invoke.call(deps.api, argument ?? undefined);
    sendJson(res, 200, result ?? null);
  } catch (error) {
    const status = (error as { status?: number }).status;
    sendJson(res, status && status >= 400 && status < 600 ? status : 400, apiError((error as Error).message, (error as { code?: string }).code ?? 'FAILED'));
  }
}

function streamEvents(deps: AdminDependencies, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'cross-origin-resource-policy': 'same-origin' });
  res.write(': connected\n\n');
  const unsubscribe = deps.api.subscribe((event) => res.write(`data: ${JSON.stringify(event)}\n\n`));
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), SSE_HEARTBEAT_MS);
  req.on('close', () => {
    clearInterval(heartbeat);
    unsubscribe();
  });
}

async function serveDashboard(deps: AdminDependencies, pathname: string, res: ServerResponse): Promise<void> {
  if (!deps.dashboardDir) return sendJson(res, 404, apiError('the dashboard was not built: run npm run build', 'NO_DASHBOARD'));
  const file = resolveInside(deps.dashboardDir, pathname === '/' ? '/index.html' : pathname);
  const info = file ? await stat(file).catch(() => undefined) : undefined;
  // Unknown paths get the app itself, so a reload on a client-side route still works.
  const target = info?.isFile() ? file! : join(deps.dashboardDir, 'index.html');
  const size = info?.isFile() ? info.size : (await stat(target)).size;
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(target)] ?? 'application/octet-stream',
    'content-length': String(size),
    'content-security-policy': DASHBOARD_CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
  });
  createReadStream(target).pipe(res);
}

/** The file a URL path names inside root, or undefined if it would leave root. */
export function resolveInside(root: string, pathname: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const candidate = normalize(join(root, decoded));
  return candidate.startsWith(normalize(root) + sep) ? candidate : undefined;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('body too large'));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function apiError(message: string, code: string): ApiErrorBody {
  return { error: { message, code } };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // No other origin may even embed an answer (no CORS headers are ever sent either).
    'cross-origin-resource-policy': 'same-origin',
  }).end(text);
}
