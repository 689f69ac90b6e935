/**
 * A real upstream registry for tests: Debian's `docker-registry` (CNCF
 * distribution 2.8) on 127.0.0.1, with its storage, config and log in a temp
 * dir, optional htpasswd or token auth, optional proxy (pull-through) mode.
 *
 * What distribution 2.8 logs, and what this reads:
 * - stdout: one access-log line per request, in Apache combined log format,
 *   written by gorilla/handlers after the handler returns, e.g.
 *   `127.0.0.1 - - [28/Nov/2026:07:08:25 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "curl/7.88.1"`.
 *   Every request is there, including 401s that the app log only mentions as
 *   warnings; the user field is always "-" (it is taken from the URL, not from
 *   the Authorization header). The URI keeps its query string.
 * - stderr: the application log; we set `log.formatter: json`, so each line
 *   is a JSON object ("response completed" lines carry
 *   http.request.method/uri, http.response.status and auth.user.name).
 *
 * stop() keeps the storage and port so start() brings the same registry back:
 * tests use that to simulate an upstream outage.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, LOOPBACK, waitForPortClosed } from './ports.js';
import { makeTempDir, removeTempDir, runChecked, sleep, startProcess, type ManagedProcess } from './process.js';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';
export const HTPASSWD_BINARY = '/usr/bin/htpasswd';

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface RegistryProxyOptions {
  remoteUrl: string;
  /**
   * Credentials for the remote. Distribution 2.8's proxy only uses them for a
   * Bearer-token remote (it looks them up by the token realm URL); against a
   * remote with Basic (htpasswd) auth it sends no credentials and gets 401s.
   */
  username?: string;
  password?: string;
}

/** distribution's `auth: token:` settings: where clients get tokens, and whose signature they must carry. */
export interface RegistryTokenAuth {
  realm: string;
  service: string;
  issuer: string;
  /** PEM file of the certificates whose keys may sign tokens. */
  rootCertBundle: string;
}

export interface StartRegistryOptions {
  /** Used in log file names and error messages (default "registry"). */
  name?: string;
  /** Require these credentials (htpasswd, Basic auth). */
  auth?: RegistryCredentials;
  /** Require Bearer tokens from this token server (see token-issuer.ts); instead of `auth`. */
  tokenAuth?: RegistryTokenAuth;
  /** Run as a pull-through cache of another registry (pushes are then refused). */
  proxy?: RegistryProxyOptions;
  /** Default: a free loopback port. */
  port?: number;
  /** Deep-merged into the generated config (e.g. { http: { headers: {...} } }). */
  extraConfig?: Record<string, unknown>;
  /** How long to wait for /v2/ to answer (default 20 s). */
  readyTimeoutMs?: number;
}

export interface AccessLogEntry {
  method: string;
  /** The path without the query string, e.g. /v2/library/alpine/blobs/sha256:... */
  path: string;
  /** The query string without "?", or "". */
  query: string;
  status: number;
  /** Response body bytes written. */
  bytes: number;
  userAgent: string;
  remoteAddress: string;
  time: Date;
  /** Position in this registry's log, across restarts; compare with mark(). */
  sequence: number;
}

export interface RequestFilter {
  /** One method or several, e.g. 'GET' or ['GET', 'HEAD']. */
  method?: string | string[];
  pathIncludes?: string;
  pathMatches?: RegExp;
  status?: number;
  /** Only requests logged after this mark() value. */
  since?: number;
}

export interface TestRegistry {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** 127.0.0.1:PORT, as used in image references. */
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly storageDir: string;
  readonly configFile: string;
  readonly logFile: string;
  readonly auth: RegistryCredentials | undefined;
  isRunning(): boolean;
  /** Starts it again after stop(): same port, same storage. No-op while running. */
  start(): Promise<void>;
  /** Stops the process and waits until the port is closed; storage stays. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** stop() and remove the temp dir. */
  destroy(): Promise<void>;
  /** Waits for the log to settle and returns a value to pass as `since`. */
  mark(): Promise<number>;
  /** Access-log entries, after waiting for lines still in flight to arrive. */
  requests(filter?: RequestFilter): Promise<AccessLogEntry[]>;
  count(filter?: RequestFilter): Promise<number>;
  /** Resolves once at least `atLeast` requests match (default 1); throws after timeoutMs. */
  waitForRequests(filter: RequestFilter, atLeast?: number, timeoutMs?: number): Promise<AccessLogEntry[]>;
  /** The JSON application log lines (stderr), parsed. */
  appLog(): Array<Record<string, unknown>>;
  /** Last output lines, for failure messages. */
  tail(lines?: number): string;
}

/** A log line must have been quiet this long before counts are trusted (the line is written after the response). */
const SETTLE_QUIET_MS = 150;
const SETTLE_MAX_MS = 3_000;

export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  const name = options.name ?? 'registry';
  const dir = await makeTempDir(name);
  const port = options.port ?? (await freePort());
  const paths = {
    storageDir: join(dir, 'storage'),
    configFile: join(dir, 'config.yml'),
    logFile: join(dir, `${name}.log`),
    htpasswdFile: join(dir, 'htpasswd'),
  };
  if (options.auth) await writeFile(paths.htpasswdFile, await htpasswdLine(options.auth));
  // YAML is a superset of JSON, so the config is written as JSON: no YAML library, no quoting surprises.
  const config = deepMerge(registryConfig(port, paths, options), options.extraConfig ?? {});
  await writeFile(paths.configFile, JSON.stringify(config, null, 2));
  const registry = new RealRegistry(name, dir, port, paths, options);
  try {
    await registry.start();
  } catch (error) {
    await removeTempDir(dir);
    throw error;
  }
  return registry;
}

/** Runs `htpasswd -Bbn` (bcrypt, the only hash distribution accepts) and returns "user:hash\n". */
export async function htpasswdLine({ username, password }: RegistryCredentials): Promise<string> {
  const { stdout } = await runChecked(HTPASSWD_BINARY, ['-Bbn', username, password]);
  return `${stdout.trim()}\n`;
}

function registryConfig(
  port: number,
  paths: { storageDir: string; htpasswdFile: string },
  options: StartRegistryOptions,
): Record<string, unknown> {
  const config: Record<string, unknown> = {
    version: '0.1',
    log: { level: 'info', formatter: 'json', accesslog: { disabled: false } },
    storage: {
      filesystem: { rootdirectory: paths.storageDir },
      delete: { enabled: true },
      // No background purge walking the storage in the middle of a test.
      maintenance: { uploadpurging: { enabled: false } },
    },
    // A fixed secret silences the "No HTTP secret provided" warning and keeps uploads valid across restarts.
    http: { addr: `${LOOPBACK}:${port}`, secret: randomBytes(16).toString('hex') },
  };
  if (options.auth) config.auth = { htpasswd: { realm: 'layover-test', path: paths.htpasswdFile } };
  if (options.tokenAuth) {
    const { realm, service, issuer, rootCertBundle } = options.tokenAuth;
    config.auth = { token: { realm, service, issuer, rootcertbundle: rootCertBundle } };
  }
  if (options.proxy) {
    const { remoteUrl, username, password } = options.proxy;
    config.proxy = { remoteurl: remoteUrl, ...(username !== undefined ? { username, password: password ?? '' } : {}) };
  }
  return config;
}

class RealRegistry implements TestRegistry {
  readonly url: string;
  readonly host: string;
  readonly storageDir: string;
  readonly configFile: string;
  readonly logFile: string;
  readonly auth: RegistryCredentials | undefined;
  private process: ManagedProcess | undefined;
  private readonly entries: AccessLogEntry[] = [];
  private readonly appLines: Array<Record<string, unknown>> = [];
  private lastLineAt = 0;

  constructor(
    private readonly name: string,
    readonly dir: string,
    readonly port: number,
    paths: { storageDir: string; configFile: string; logFile: string },
    private readonly options: StartRegistryOptions,
  ) {
    this.host = `${LOOPBACK}:${port}`;
    this.url = `http://${this.host}`;
    this.storageDir = paths.storageDir;
    this.configFile = paths.configFile;
    this.logFile = paths.logFile;
    this.auth = options.auth;
  }

  isRunning(): boolean {
    return this.process?.isRunning() ?? false;
  }

  async start(): Promise<void> {
    if (this.isRunning()) return;
    this.process = await startProcess({
      name: `${this.name} (${this.host})`,
      command: REGISTRY_BINARY,
      args: ['serve', this.configFile],
      env: environmentWithoutRegistryOverrides(),
      logFile: this.logFile,
      onLine: (line, stream) => this.onLine(line, stream),
      // Any answer will do: with auth, /v2/ answers 401.
      ready: { kind: 'http', url: `${this.url}/v2/` },
      readyTimeoutMs: this.options.readyTimeoutMs ?? 20_000,
    });
  }

  async stop(): Promise<void> {
    if (!this.process) return;
    await this.process.stop({ graceMs: 5_000 });
    this.process = undefined;
    await waitForPortClosed(this.port);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async destroy(): Promise<void> {
    await this.stop();
    await removeTempDir(this.dir);
  }

  async mark(): Promise<number> {
    await this.settle();
    return this.entries.length;
  }

  async requests(filter: RequestFilter = {}): Promise<AccessLogEntry[]> {
    await this.settle();
    return this.entries.filter((entry) => matchesFilter(entry, filter));
  }

  async count(filter: RequestFilter = {}): Promise<number> {
    return (await this.requests(filter)).length;
  }

  async waitForRequests(filter: RequestFilter, atLeast = 1, timeoutMs = 10_000): Promise<AccessLogEntry[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.entries.filter((entry) => matchesFilter(entry, filter));
      if (found.length >= atLeast) return found;
      if (Date.now() > deadline) {
        throw new Error(`${this.name}: ${found.length} of ${atLeast} requests matching ${describeFilter(filter)} after ${timeoutMs} ms.\n${this.tail(20)}`);
      }
      await sleep(25);
    }
  }

  appLog(): Array<Record<string, unknown>> {
    return [...this.appLines];
  }

  tail(lines = 40): string {
    return this.process?.tail(lines) ?? '(not running)';
  }

  private onLine(line: string, stream: 'stdout' | 'stderr'): void {
    this.lastLineAt = Date.now();
    if (stream === 'stdout') {
      const entry = parseAccessLogLine(line, this.entries.length);
      if (entry) this.entries.push(entry);
      return;
    }
    const json = parseJsonLine(line);
    if (json) this.appLines.push(json);
  }

  /**
   * The access line is written after the handler returns, which for a large
   * blob can be after the client already has every byte. So wait at least one
   * quiet period, and until no line has arrived for that long.
   */
  private async settle(): Promise<void> {
    const started = Date.now();
    await sleep(SETTLE_QUIET_MS);
    while (Date.now() - this.lastLineAt < SETTLE_QUIET_MS && Date.now() - started < SETTLE_MAX_MS) await sleep(25);
  }
}

/** Distribution lets REGISTRY_* variables override any config key; a stray one in CI must not change our registry. */
function environmentWithoutRegistryOverrides(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('REGISTRY_')));
}

// ---------------------------------------------------------------- access log parsing

const QUOTED = String.raw`"((?:[^"\\]|\\.)*)"`;
const COMBINED_LOG_LINE = new RegExp(
  String.raw`^(\S+) (\S+) (\S+) \[([^\]]+)\] ${QUOTED} (\d{3}) (\d+|-)(?: ${QUOTED} ${QUOTED})?\s*$`,
);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Parses one Apache common/combined log line as gorilla/handlers writes it; undefined for anything else. */
export function parseAccessLogLine(line: string, sequence = 0): AccessLogEntry | undefined {
  const match = COMBINED_LOG_LINE.exec(line);
  if (!match) return undefined;
  const [, remoteAddress = '', , , timestamp = '', request = '', status = '', bytes = '', , userAgent = ''] = match;
  // The request is "METHOD URI PROTO"; gorilla escapes quotes and non-printables but not spaces, so take the ends.
  const requestText = unescapeGo(request);
  const firstSpace = requestText.indexOf(' ');
  const lastSpace = requestText.lastIndexOf(' ');
  if (firstSpace <= 0 || lastSpace <= firstSpace) return undefined;
  const uri = requestText.slice(firstSpace + 1, lastSpace);
  const queryAt = uri.indexOf('?');
  return {
    method: requestText.slice(0, firstSpace),
    path: queryAt === -1 ? uri : uri.slice(0, queryAt),
    query: queryAt === -1 ? '' : uri.slice(queryAt + 1),
    status: Number(status),
    bytes: bytes === '-' ? 0 : Number(bytes),
    userAgent: unescapeGo(userAgent),
    remoteAddress,
    time: parseLogTime(timestamp),
    sequence,
  };
}

function unescapeGo(text: string): string {
  return text.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)/g, (_, escaped: string) => {
    if (escaped.length > 1) return String.fromCharCode(parseInt(escaped.slice(1), 16));
    return ({ n: '\n', t: '\t', r: '\r' } as Record<string, string>)[escaped] ?? escaped;
  });
}

/** "28/Nov/2026:07:08:25 +0000" -> Date; an unreadable timestamp gives an invalid Date rather than a throw. */
function parseLogTime(text: string): Date {
  const match = /^(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(text);
  if (!match) return new Date(Number.NaN);
  const [, day, month, year, hour, minute, second, sign, offsetHours, offsetMinutes] = match as unknown as string[];
  const utc = Date.UTC(Number(year), MONTHS.indexOf(month ?? ''), Number(day), Number(hour), Number(minute), Number(second));
  const offsetMs = (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000 * (sign === '-' ? -1 : 1);
  return new Date(utc - offsetMs);
}

function parseJsonLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export function matchesFilter(entry: AccessLogEntry, filter: RequestFilter): boolean {
  if (filter.since !== undefined && entry.sequence < filter.since) return false;
  if (filter.method !== undefined) {
    const methods = Array.isArray(filter.method) ? filter.method : [filter.method];
    if (!methods.some((method) => method.toUpperCase() === entry.method)) return false;
  }
  if (filter.status !== undefined && entry.status !== filter.status) return false;
  if (filter.pathIncludes !== undefined && !entry.path.includes(filter.pathIncludes)) return false;
  if (filter.pathMatches !== undefined && !filter.pathMatches.test(entry.path)) return false;
  return true;
}

function describeFilter(filter: RequestFilter): string {
  return JSON.stringify({ ...filter, pathMatches: filter.pathMatches?.source });
}

// ---------------------------------------------------------------- config merge

function deepMerge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
