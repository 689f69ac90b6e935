import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import bcrypt from 'bcryptjs';
import type { ClientAuthSettings } from '../api/types.js';
import { OciError } from '../core/oci/errors.js';
import type { Credentials } from '../core/upstream/docker-credentials.js';
import type { RegistryClient } from '../core/upstream/registry-client.js';

/** Decides whether a client may read what it asks for; throws the OCI error it should see. */
export interface ClientAuthorizer {
  /** May this client read this repository? */
  authorize(headers: IncomingHttpHeaders, client: RegistryClient, repository: string): Promise<void>;
  /** The /v2/ check behind `docker login MIRROR` (and _catalog): are these credentials good at all? */
  authorizeLogin(headers: IncomingHttpHeaders, registries: RegistryClient[]): Promise<void>;
}

const CHALLENGE = { 'www-authenticate': 'Basic realm="Layover"' };
/** How long an upstream verdict is trusted before asking again. */
const DECISION_TTL_MS = 60_000;
/** While the upstream is unreachable, an earlier "allowed" still counts this long: offline offices keep working. */
const OFFLINE_GRACE_MS = 12 * 60 * 60_000;
/** bcrypt is slow on purpose; a verified password is remembered briefly so each layer of a pull does not pay it. */
const HTPASSWD_CACHE_MS = 5 * 60_000;

export function createClientAuthorizer(settings: ClientAuthSettings | undefined): ClientAuthorizer | undefined {
  if (!settings || settings.mode === 'none') return undefined;
  return settings.mode === 'upstream' ? new UpstreamAuthorizer() : new HtpasswdAuthorizer(settings.file);
}

/** Basic credentials from the Authorization header (what `docker login MIRROR` makes the client send). */
export function basicCredentials(headers: IncomingHttpHeaders): Credentials | undefined {
  const header = headers.authorization;
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  return separator > 0 ? { username: decoded.slice(0, separator), password: decoded.slice(separator + 1) } : undefined;
}

function unauthorized(message: string): OciError {
  return new OciError(401, 'UNAUTHORIZED', message, CHALLENGE);
}

/**
 * The DTR-cache promise: a client reads through the mirror only what the
 * upstream would let it read, cached content included. Anonymous clients get
 * what the upstream gives anonymously (public repositories stay open).
 */
class UpstreamAuthorizer implements ClientAuthorizer {
  private readonly decisions = new Map<string, { verdict: 'allowed' | 'unauthorized' | 'denied'; at: number }>();

  async authorize(headers: IncomingHttpHeaders, client: RegistryClient, repository: string): Promise<void> {
    const credentials = basicCredentials(headers);
    const verdict = await this.verdict(client, repository, credentials);
    if (verdict === 'allowed') return;
    if (verdict === 'denied') throw new OciError(403, 'DENIED', `${client.name} denies ${credentials?.username ?? 'anonymous'} access to ${repository}`);
    throw unauthorized(credentials ? `${client.name} refused the credentials of ${credentials.username}` : `${repository} on ${client.name} requires credentials: docker login to the mirror`);
  }

  /**
   * A login succeeds when a registry that protects itself accepts the
   * credentials. If no registry that could be asked asks for credentials at
   * all, there is nothing to protect and any login is fine. A registry that
   * cannot be reached is left out rather than failing the login: logging in
   * grants nothing by itself (every pull is still checked against its own
   * registry), so one registry being down must not lock everyone out.
   */
  async authorizeLogin(headers: IncomingHttpHeaders, registries: RegistryClient[]): Promise<void> {
    const credentials = basicCredentials(headers);
    if (!credentials) throw unauthorized('log in to the mirror with your registry credentials (docker login)');
    const unreachable: string[] = [];
    const ask = (client: RegistryClient, withCredentials: Credentials | undefined) => this.verdict(client, undefined, withCredentials).catch((error: unknown) => {
      if (!(error instanceof OciError) || error.status !== 503) throw error;
      unreachable.push(client.name);
      return undefined;
    });
    const protectedRegistries: RegistryClient[] = [];
    for (const client of registries) {
      const anonymous = await ask(client, undefined);
      if (anonymous !== undefined && anonymous !== 'allowed') protectedRegistries.push(client);
    }
    let refused = false;
    for (const client of protectedRegistries) {
      const verdict = await ask(client, credentials);
      if (verdict === 'allowed') return;
      if (verdict !== undefined) refused = true;
    }
    if (!refused) return;
    const notAsked = unreachable.length > 0 ? ` (${[...new Set(unreachable)].join(', ')} could not be asked)` : '';
    throw unauthorized(`no registry behind this mirror accepts the credentials of ${credentials.username}${notAsked}`);
  }

  private async verdict(client: RegistryClient, repository: string | undefined, credentials: Credentials | undefined) {
    const key = decisionKey(client.name, repository, credentials);
    const known = this.decisions.get(key);
    if (known && Date.now() - known.at < DECISION_TTL_MS) return known.verdict;
    try {
      const verdict = await client.checkAccess(repository, credentials);
      this.decisions.set(key, { verdict, at: Date.now() });
      return verdict;
    } catch (error) {
      if (known?.verdict === 'allowed' && Date.now() - known.at < OFFLINE_GRACE_MS) return known.verdict;
      throw new OciError(503, 'UNAVAILABLE', `cannot verify access with ${client.name}: ${(error as Error).message}`);
    }
  }
}

function decisionKey(registry: string, repository: string | undefined, credentials: Credentials | undefined): string {
  const secret = credentials ? createHash('sha256').update(`${credentials.username}\0${credentials.password}`).digest('hex') : 'anonymous';
  return `${registry}\0${repository ?? ''}\0${secret}`;
}

/** The office's own user list, an htpasswd file of bcrypt hashes (`htpasswd -B`), re-read when it changes. */
class HtpasswdAuthorizer implements ClientAuthorizer {
  private users = new Map<string, string>();
  private loadedMtime = -1;
  private readonly verified = new Map<string, number>();

  constructor(private readonly file: string) {}

  authorize(headers: IncomingHttpHeaders): Promise<void> {
    return this.authorizeLogin(headers);
  }

  async authorizeLogin(headers: IncomingHttpHeaders): Promise<void> {
    const credentials = basicCredentials(headers);
    if (!credentials?.username) throw unauthorized('log in to the mirror (docker login) with an account from its htpasswd file');
    await this.reloadIfChanged();
    const hash = this.users.get(credentials.username);
    const cacheKey = createHash('sha256').update(`${credentials.username}\0${credentials.password}\0${hash}`).digest('hex');
    const verifiedAt = this.verified.get(cacheKey);
    if (verifiedAt && Date.now() - verifiedAt < HTPASSWD_CACHE_MS) return;
    if (!hash || !(await bcrypt.compare(credentials.password ?? '', hash.replace(/^\$2y\$/, '$2a$')))) {
      throw unauthorized(`wrong user name or password for ${credentials.username}`);
    }
    this.verified.set(cacheKey, Date.now());
  }

  private async reloadIfChanged(): Promise<void> {
    let mtime: number;
    try {
      mtime = (await stat(this.file)).mtimeMs;
    } catch (error) {
      throw new OciError(503, 'UNAVAILABLE', `the mirror's htpasswd file cannot be read: ${(error as Error).message}`);
    }
    if (mtime === this.loadedMtime) return;
    this.users = parseHtpasswd(await readFile(this.file, 'utf8'));
    this.verified.clear();
    this.loadedMtime = mtime;
  }
}

/** user:hash lines; only bcrypt hashes count (the others are broken or guessable). */
export function parseHtpasswd(text: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const separator = line.indexOf(':');
    if (separator <= 0) continue;
    const hash = line.slice(separator + 1).trim();
    if (/^\$2[aby]\$\d\d\$/.test(hash)) users.set(line.slice(0, separator), hash);
  }
  return users;
}
