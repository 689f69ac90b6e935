import type { Agent, Dispatcher } from 'undici';
import { lazyAgent, undici } from './lazy-undici.js';
import { parseChallenge } from './challenge.js';
import { DockerCredentials, type Credentials } from './docker-credentials.js';
import { EndpointHealth } from './endpoint-health.js';
import { orderEndpoints, type EndpointChoice } from './endpoint-choice.js';
import { normalizeRepositoryPrefix, onEndpoint } from './endpoint-prefix.js';
import { RateLimitState } from './rate-limit.js';
import { hostAgent, RedirectHosts, RedirectTargetError, type RedirectHostConfig } from './redirect-hosts.js';
import { repositoryRequest } from './repository-request.js';
import { EndpointAuth, UpstreamAuthError } from './token-auth.js';

export interface EndpointConfig {
  url: string;
  /** Layover's own settings win over Docker's config for this endpoint. */
  credentials?: Credentials;
  /** A PEM bundle of CAs to trust besides the system's. */
  caFile?: string;
  insecureSkipVerify?: boolean;
  /** Put before every repository name on this endpoint only: a Harbor / MSR 4 proxy project, "hub-proxy/". */
  repositoryPrefix?: string;
}

export interface RegistryConfig {
  /** The name clients use for it ("docker.io", "dtr.example.com"). */
  name: string;
  /** Other names containerd or users may send in ?ns= (for Docker Hub: index.docker.io, registry-1.docker.io). */
  aliases?: string[];
  /** In order: the regional cache first, the origin last. */
  endpoints: EndpointConfig[];
  /** Which endpoint is asked first (default in-order). */
  endpointChoice?: EndpointChoice;
  /** Hosts the registry redirects blobs to (MSR 2/3 content caches) that need a CA of their own. */
  redirectHosts?: RedirectHostConfig[];
}

export interface UpstreamTimeouts {
  connectMs: number;
  /** Until the response headers arrive. */
  headersMs: number;
  /** Longest silence while a body is flowing. */
  idleMs: number;
}

export const DEFAULT_TIMEOUTS: UpstreamTimeouts = { connectMs: 5_000, headersMs: 30_000, idleMs: 30_000 };

export interface UpstreamRequest {
  method: 'GET' | 'HEAD';
  /** Below the endpoint URL, e.g. "/v2/library/alpine/manifests/latest". */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** Token scope, e.g. "repository:library/alpine:pull". */
  scope?: string;
  /**
   * The repository the path and scope are about, as the client names it; an endpoint with a repository
   * prefix rewrites both (endpoint-prefix.ts). Without it, the repository is read from the /v2 path.
   */
  repository?: string;
  /** Blob downloads follow redirects (object stores, DTR content caches); nothing else needs to. */
  followRedirects?: boolean;
  signal?: AbortSignal;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  /** Which endpoint answered. */
  endpoint: string;
  /** The host that sent the body: the endpoint's, or the host it redirected to (a content cache, an object store). */
  servedBy: string;
}

/** No endpoint could be reached (or every one failed): the mirror answers 503, or serves stale. */
export class UpstreamUnavailableError extends Error {
  constructor(readonly registry: string, readonly causes: string[]) {
    super(`upstream ${registry} unavailable: ${causes.join('; ')}`);
    this.name = 'UpstreamUnavailableError';
  }
}

const MAX_REDIRECTS = 5;
/**
 * How many times a GET or HEAD is sent again after its connection closed
 * before any answer. Each failure costs one pooled connection, so two more
 * tries get past two stale ones; a server that closes every connection still
 * fails fast, as before.
 */
const RESENDS_AFTER_CLOSE = 2;
const USER_AGENT = 'layover/0.1 (pull-through cache)';
/** Statuses that mean "this endpoint is not well", so the next one is tried. */
const isEndpointFailure = (status: number): boolean => status >= 500;

class Endpoint {
  readonly url: URL;
  readonly health = new EndpointHealth();
  readonly rateLimit = new RateLimitState();
  readonly repositoryPrefix: string;
  readonly auth: EndpointAuth;
  readonly dispatcher: Agent;

  constructor(readonly config: EndpointConfig, timeouts: UpstreamTimeouts, dockerCredentials: DockerCredentials, fallback: Agent) {
    this.url = new URL(config.url.replace(/\/+$/, ''));
    this.repositoryPrefix = normalizeRepositoryPrefix(config.repositoryPrefix);
    this.dispatcher = hostAgent(config, timeouts);
    const credentials = async () => config.credentials ?? dockerCredentials.lookup(this.url.host);
    this.auth = new EndpointAuth(credentials, (url) => (url.origin === this.url.origin ? this.dispatcher : fallback), USER_AGENT);
  }
}

/**
 * The client for one upstream registry: endpoints tried in order with health
 * tracking, Bearer/Basic auth, manual redirects that never carry our
 * Authorization header to another host, and timeouts so nothing hangs.
 */
export class RegistryClient {
  readonly name: string;
  readonly aliases: string[];
  readonly endpointChoice: EndpointChoice;
  private readonly endpoints: Endpoint[];
  private readonly fallbackDispatcher: Agent;
  private readonly redirects: RedirectHosts;

  constructor(config: RegistryConfig, options: { timeouts?: UpstreamTimeouts; dockerCredentials?: DockerCredentials } = {}) {
    if (config.endpoints.length === 0) throw new Error(`registry ${config.name} has no endpoints`);
    const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
    this.name = config.name;
    this.aliases = config.aliases ?? [];
    this.fallbackDispatcher = lazyAgent({ connect: { timeout: timeouts.connectMs }, headersTimeout: timeouts.headersMs, bodyTimeout: timeouts.idleMs });
    const dockerCredentials = options.dockerCredentials ?? new DockerCredentials();
    this.endpoints = config.endpoints.map((endpoint) => new Endpoint(endpoint, timeouts, dockerCredentials, this.fallbackDispatcher));
    this.endpointChoice = config.endpointChoice ?? 'in-order';
    this.redirects = new RedirectHosts(config.redirectHosts ?? [], timeouts, this.fallbackDispatcher);
  }

  endpointStates(): Array<{ url: string; health: EndpointHealth; repositoryPrefix: string; rateLimit: RateLimitState }> {
    return this.endpoints.map((endpoint) => ({ url: endpoint.config.url, health: endpoint.health, repositoryPrefix: endpoint.repositoryPrefix, rateLimit: endpoint.rateLimit }));
  }

  /** Hosts the endpoints redirected blob downloads to, each with its own health. */
  redirectHostStates(): Array<{ url: string; health: EndpointHealth }> {
    return this.redirects.states();
  }

  /**
   * Sends the request to the first endpoint that answers well. Failing over
   * happens only before a response is handed back, so no client ever gets
   * bytes from two endpoints. A 404 from a cache endpoint falls through to the
   * next (containerd does the same with its mirrors).
   */
  async request(req: UpstreamRequest): Promise<UpstreamResponse> {
    const causes: string[] = [];
    const ordered = this.orderedEndpoints();
    for (const [index, endpoint] of ordered.entries()) {
      const isLast = index === ordered.length - 1;
      const started = Date.now();
      let response: UpstreamResponse;
      try {
        response = await this.requestEndpoint(endpoint, req);
      } catch (error) {
        if (error instanceof UpstreamAuthError || req.signal?.aborted) throw error;
        if (error instanceof RedirectTargetError) {
          // The endpoint answered well; the host it sent us to did not (its own health says so).
          endpoint.health.recordSuccess(Date.now() - started);
          causes.push(`${endpoint.url.host} via ${error.message}`);
          continue;
        }
        const message = describeNetworkError(error);
        endpoint.health.recordFailure(message);
        causes.push(`${endpoint.url.host}: ${message}`);
        continue;
      }
      if (isEndpointFailure(response.status)) endpoint.health.recordFailure(`HTTP ${response.status}`);
      else endpoint.health.recordSuccess(Date.now() - started);
      endpoint.rateLimit.observe(response.status, response.headers);
      const redirected = response.servedBy !== endpoint.url.origin ? this.redirects.healthOf(new URL(response.servedBy)) : undefined;
      measureThroughput(response, [endpoint.health, redirected]);
      const tryNext = isEndpointFailure(response.status) || response.status === 429 || response.status === 404;
      if (!tryNext || isLast) return response;
      causes.push(`${endpoint.url.host}: HTTP ${response.status}`);
      await response.body.dump();
    }
    throw new UpstreamUnavailableError(this.name, causes);
  }

  /** Lets requests in flight finish (a settings change replaces this client while transfers run). */
  /**
   * Would the upstream let these credentials (or an anonymous client) read
   * this repository? Asked with a fresh auth state, so Layover's own
   * credentials never stand in for the client's. `repository` undefined asks
   * about the registry as a whole (a `docker login` to the mirror).
   */
  async checkAccess(repository: string | undefined, credentials: Credentials | undefined): Promise<'allowed' | 'unauthorized' | 'denied'> {
    const endpoint = this.orderedEndpoints()[0]!;
    const auth = new EndpointAuth(async () => credentials, (url) => (url.origin === endpoint.url.origin ? endpoint.dispatcher : this.fallbackDispatcher), USER_AGENT);
    const req: UpstreamRequest = repository
      ? { ...repositoryRequest(repository, 'tags/list'), query: { n: '1' } }
      : { method: 'GET', path: '/v2/' };
    let response: UpstreamResponse;
    try {
      response = await this.requestEndpoint(endpoint, req, auth);
    } catch (error) {
      if (error instanceof UpstreamAuthError) return error.status === 403 ? 'denied' : 'unauthorized';
      throw new UpstreamUnavailableError(this.name, [describeNetworkError(error)]);
    }
    await response.body.dump();
    // Token servers give a known user a token for what they hold, possibly nothing; the registry then says
    // insufficient_scope. Those credentials are good and the answer is no: DENIED, not "log in again".
    if (response.status === 401) return credentials && isInsufficientScope(response.headers) ? 'denied' : 'unauthorized';
    if (response.status === 403) return 'denied';
    if (response.status === 200 || response.status === 404) return 'allowed';
    throw new UpstreamUnavailableError(this.name, [`HTTP ${response.status} while checking access`]);
  }

  async close(): Promise<void> {
    await Promise.all([...this.endpoints.map((endpoint) => endpoint.dispatcher.close()), this.redirects.close(), this.fallbackDispatcher.close()]);
  }

  /** Ends everything now: at shutdown a hung upstream must not hold the process. */
  async destroy(): Promise<void> {
    await Promise.all([...this.endpoints.map((endpoint) => endpoint.dispatcher.destroy()), this.redirects.destroy(), this.fallbackDispatcher.destroy()]);
  }

  /** Healthy endpoints first (in configured order, or fastest first), then those that are down (still better than nothing). */
  private orderedEndpoints(): Endpoint[] {
    return orderEndpoints(this.endpoints, this.endpointChoice);
  }

  private async requestEndpoint(endpoint: Endpoint, asked: UpstreamRequest, auth = endpoint.auth): Promise<UpstreamResponse> {
    const req = onEndpoint(endpoint.repositoryPrefix, asked);
    const url = new URL(endpoint.url.pathname.replace(/\/$/, '') + req.path, endpoint.url);
    for (const [key, value] of Object.entries(req.query ?? {})) url.searchParams.set(key, value);
    let response = await this.send(endpoint, url, req, await auth.header(req.scope));
    const challenge = response.statusCode === 401 ? parseChallenge(headerValue(response.headers['www-authenticate'])) : undefined;
    if (challenge) {
      await response.body.dump();
      auth.invalidate(req.scope);
      auth.learn(challenge);
      response = await this.send(endpoint, url, req, await auth.header(req.scope, challenge.params.scope));
    }
    return this.followRedirects(endpoint, req, response, url, auth);
  }

  private async followRedirects(endpoint: Endpoint, req: UpstreamRequest, first: Dispatcher.ResponseData, firstUrl: URL, auth: EndpointAuth): Promise<UpstreamResponse> {
    let response = first;
    let url = firstUrl;
    for (let hops = 0; req.followRedirects && isRedirect(response.statusCode); hops++) {
      const location = headerValue(response.headers.location);
      if (!location || hops >= MAX_REDIRECTS) break;
      await response.body.dump();
      url = new URL(location, url);
      // Credentials are for the registry only, never for the object store or content cache it redirects to.
      const sameOrigin = url.origin === endpoint.url.origin;
      response = sameOrigin ? await this.send(endpoint, url, req, await auth.header(req.scope)) : await this.sendToRedirectHost(endpoint, url, req);
    }
    return { status: response.statusCode, headers: response.headers, body: response.body, endpoint: endpoint.config.url, servedBy: url.origin };
  }

  /** A redirect to another host, counted in that host's own health; its failure is not the endpoint's. */
  private async sendToRedirectHost(endpoint: Endpoint, url: URL, req: UpstreamRequest): Promise<Dispatcher.ResponseData> {
    const health = this.redirects.healthOf(url);
    const started = Date.now();
    let response: Dispatcher.ResponseData;
    try {
      response = await this.send(endpoint, url, req, undefined);
    } catch (error) {
      if (req.signal?.aborted) throw error;
      const message = describeNetworkError(error);
      health?.recordFailure(message);
      throw new RedirectTargetError(url.host, message);
    }
    if (isEndpointFailure(response.statusCode)) {
      health?.recordFailure(`HTTP ${response.statusCode}`);
      await response.body.dump();
      throw new RedirectTargetError(url.host, `HTTP ${response.statusCode}`);
    }
    health?.recordSuccess(Date.now() - started);
    return response;
  }

  /**
   * Sends the request; when the connection closes before any answer, sends it again. That is the keep-alive
   * race: the upstream starts its idle clock when it hands a response's last byte to its socket, which on a
   * slow link is a latency (and seconds of buffered bytes) before we see that byte and reuse the connection,
   * so its keep-alive can run out while our next request is still on the way, and it closes the connection
   * without reading it. Nothing was answered and the methods are idempotent, so sending again is safe; Go's
   * HTTP client (Docker's) does the same. The closed connection has left the pool, so the retry takes another.
   */
  private async send(endpoint: Endpoint, url: URL, req: UpstreamRequest, authorization: string | undefined): Promise<Dispatcher.ResponseData> {
    for (let resent = 0; ; resent++) {
      try {
        return await this.sendOnce(endpoint, url, req, authorization);
      } catch (error) {
        if (resent >= RESENDS_AFTER_CLOSE || req.signal?.aborted || !closedBeforeAnswer(error)) throw error;
      }
    }
  }

  private sendOnce(endpoint: Endpoint, url: URL, req: UpstreamRequest, authorization: string | undefined): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...req.headers };
    if (authorization) headers.authorization = authorization;
    const dispatcher = url.origin === endpoint.url.origin ? endpoint.dispatcher : this.redirects.dispatcherFor(url);
    // undici closes the connection after every HEAD unless told otherwise (a guard against servers that send a
    // body anyway); registries do not, and a fresh connection costs tag revalidation a round trip (two with TLS).
    return undici().request(url, { method: req.method, headers, dispatcher, signal: req.signal, ...(req.method === 'HEAD' ? { reset: false } : {}) });
  }
}

/**
 * Feeds the throughput averages from a real body: its Content-Length over the time from the answer's
 * headers to its end. Listening for 'end' does not start the stream; a body cut or abandoned gives no sample.
 */
function measureThroughput(response: UpstreamResponse, healths: Array<EndpointHealth | undefined>): void {
  const bytes = Number(headerValue(response.headers['content-length']));
  if ((response.status !== 200 && response.status !== 206) || !Number.isSafeInteger(bytes)) return;
  const headersAt = Date.now();
  response.body.once('end', () => {
    const seconds = (Date.now() - headersAt) / 1000;
    for (const health of healths) health?.recordTransfer(bytes, seconds);
  });
}

function isInsufficientScope(headers: Dispatcher.ResponseData['headers']): boolean {
  return parseChallenge(headerValue(headers['www-authenticate']))?.params.error === 'insufficient_scope';
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The connection ended under a request before its answer began: undici's
 * "other side closed" / "closed" (a FIN), or a reset or broken pipe (the
 * upstream closed with our request unread). Not a refused connection, a
 * timeout or a malformed answer: those are the upstream's answer, not a race.
 */
function closedBeforeAnswer(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code ?? (error as { cause?: NodeJS.ErrnoException }).cause?.code;
  if (code === 'ECONNRESET' || code === 'EPIPE') return true;
  return code === 'UND_ERR_SOCKET' && /^(other side closed|closed)$/.test((error as Error).message);
}

function describeNetworkError(error: unknown): string {
  const err = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = err.code ?? err.cause?.code;
  const message = err.cause?.message ?? err.message;
  return code && !message.includes(code) ? `${code} ${message}` : message;
}
