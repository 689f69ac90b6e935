/**
 * A token server for tests, as Docker's token-auth spec describes it: the
 * realm a registry configured with `auth: token:` sends clients to. It checks
 * Basic credentials against its own user list and signs ES256 JWTs whose
 * `access` claim grants the requested actions the user holds — a subset,
 * possibly empty, as the spec asks (a user refused a scope still gets a token;
 * the registry then answers 401 insufficient_scope). A user marked
 * `refuseOutright` gets 403 from the issuer instead, as some token servers do.
 *
 * The signing key's self-signed certificate is written to `rootCertBundle`
 * for the registry to trust; each token carries it in its `x5c` header.
 *
 * Lifetimes: distribution 2.8 accepts a token until 60 s after its `exp`
 * (clock-skew leeway). `setLifetime` therefore sets separately what the
 * issuer says (`expires_in`) and how long the registry will really accept the
 * token: a token can be made to expire at the registry while the client still
 * believes it good, which is what a cached token that outlived its validity is.
 */
import 'reflect-metadata'; // @peculiar/x509 resolves its parsers through tsyringe, which needs the Reflect API
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { LOOPBACK } from './ports.js';
import { makeTempDir, removeTempDir } from './process.js';

(x509.cryptoProvider as { set(provider: unknown): void }).set(webcrypto);

const SIGNING = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/** distribution's token.Leeway: exp and nbf are checked with this much slack. */
export const REGISTRY_LEEWAY_SECONDS = 60;
const DEFAULT_LIFETIME_SECONDS = 300;

export interface TokenUser {
  password: string;
  /** Repository name (or "*" for all) -> the actions this user holds on it. */
  grants: Record<string, string[]>;
  /** Answer 403 for a scope the user does not hold, instead of a token that grants less. */
  refuseOutright?: boolean;
}

export interface ResourceActions {
  type: string;
  name: string;
  actions: string[];
}

export interface IssuedToken {
  /** The user, or "anonymous". */
  user: string;
  /** The scope parameters asked for, as sent. */
  scopes: string[];
  access: ResourceActions[];
  /** What the issuer told the client (seconds). */
  expiresIn: number;
  /** The last moment (ms since the epoch) the registry accepts the token. */
  validUntil: number;
}

export interface TokenLifetime {
  /** expires_in in the answer. */
  claimedSeconds: number;
  /** How long the registry accepts the token. */
  validSeconds: number;
}

export interface TestTokenIssuer {
  /** The realm URL, http://127.0.0.1:PORT/token. */
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** PEM file of the signing certificate: the registry's rootcertbundle. */
  readonly rootCertBundle: string;
  /** Tokens handed out so far, oldest first. */
  issued(filter?: { user?: string; scope?: string }): IssuedToken[];
  /** Token requests answered 401 (bad credentials) or 403 (refused outright). */
  refusals(): Array<{ user: string; status: number }>;
  /** The lifetime of tokens issued from now on. */
  setLifetime(lifetime: TokenLifetime): void;
  stop(): Promise<void>;
}

export async function startTokenIssuer(options: { users: Record<string, TokenUser>; service?: string; issuer?: string }): Promise<TestTokenIssuer> {
  const dir = await makeTempDir('token-issuer');
  try {
    const keys = await webcrypto.subtle.generateKey(SIGNING, false, ['sign', 'verify']);
    const certificate = await signingCertificate(keys);
    const rootCertBundle = join(dir, 'root.crt');
    await writeFile(rootCertBundle, `${certificate.toString('pem')}\n`);
    const issuer = new TokenIssuer(options, keys.privateKey, Buffer.from(certificate.rawData).toString('base64'), rootCertBundle, dir);
    await issuer.listen();
    return issuer;
  } catch (error) {
    await removeTempDir(dir);
    throw error;
  }
}

async function signingCertificate(keys: webcrypto.CryptoKeyPair): Promise<x509.X509Certificate> {
  const now = Date.now();
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex').replace(/^[89a-f]/, '1'),
    name: 'CN=layover test token issuer',
    notBefore: new Date(now - 24 * 60 * 60_000),
    notAfter: new Date(now + 24 * 60 * 60_000),
    signingAlgorithm: SIGNING,
    keys,
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true)],
  });
}

class TokenIssuer implements TestTokenIssuer {
  readonly service: string;
  readonly issuer: string;
  realm = '';
  private readonly server: Server;
  private readonly tokens: IssuedToken[] = [];
  private readonly refused: Array<{ user: string; status: number }> = [];
  private lifetime: TokenLifetime = { claimedSeconds: DEFAULT_LIFETIME_SECONDS, validSeconds: DEFAULT_LIFETIME_SECONDS };

  constructor(
    private readonly options: { users: Record<string, TokenUser>; service?: string; issuer?: string },
    private readonly signingKey: webcrypto.CryptoKey,
    private readonly certificateBase64: string,
    readonly rootCertBundle: string,
    private readonly dir: string,
  ) {
    this.service = options.service ?? 'layover-test-registry';
    this.issuer = options.issuer ?? 'layover-test-issuer';
    this.server = createServer((request, response) => {
      this.answer(request, response).catch((error: Error) => {
        response.writeHead(500, { 'content-type': 'text/plain' }).end(error.message);
      });
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, LOOPBACK, () => resolve());
    });
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('token issuer: no port');
    this.realm = `http://${LOOPBACK}:${address.port}/token`;
  }

  issued(filter: { user?: string; scope?: string } = {}): IssuedToken[] {
    return this.tokens.filter((token) =>
      (filter.user === undefined || token.user === filter.user) && (filter.scope === undefined || token.scopes.includes(filter.scope)));
  }

  refusals(): Array<{ user: string; status: number }> {
    return [...this.refused];
  }

  setLifetime(lifetime: TokenLifetime): void {
    this.lifetime = lifetime;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await removeTempDir(this.dir);
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.realm);
    if (request.method !== 'GET' || url.pathname !== '/token') return void response.writeHead(404).end();
    const caller = this.authenticate(request.headers.authorization);
    if (caller === 'refused') return this.refuse(response, '?', 401, 'wrong user name or password');
    const scopes = url.searchParams.getAll('scope');
    const wanted = scopes.flatMap(parseScope);
    const access = wanted.map((resource) => grantedPart(resource, caller?.user));
    const user = caller?.name ?? 'anonymous';
    const holdsLess = access.some((granted, i) => granted.actions.length < wanted[i]!.actions.length);
    if (caller?.user.refuseOutright && holdsLess) return this.refuse(response, user, 403, 'access to the requested scope is refused');
    const token = await this.sign(user, access.filter((granted) => granted.actions.length > 0));
    this.tokens.push({ user, scopes, access, expiresIn: this.lifetime.claimedSeconds, validUntil: token.validUntil });
    const body = { token: token.jwt, access_token: token.jwt, expires_in: this.lifetime.claimedSeconds, issued_at: new Date().toISOString() };
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  /** undefined: anonymous; 'refused': credentials that do not match. */
  private authenticate(header: string | undefined): { name: string; user: TokenUser } | 'refused' | undefined {
    if (!header?.startsWith('Basic ')) return undefined;
    const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
    const separator = decoded.indexOf(':');
    const name = decoded.slice(0, separator);
    const user = this.options.users[name];
    return user !== undefined && separator > 0 && user.password === decoded.slice(separator + 1) ? { name, user } : 'refused';
  }

  private refuse(response: ServerResponse, user: string, status: 401 | 403, message: string): void {
    this.refused.push({ user, status });
    const headers = status === 401 ? { 'www-authenticate': `Basic realm="${this.realm}"` } : {};
    response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ details: message }));
  }

  private async sign(user: string, access: ResourceActions[]): Promise<{ jwt: string; validUntil: number }> {
    const now = Math.floor(Date.now() / 1000);
    // The registry accepts the token until exp + its leeway: put exp so that this falls validSeconds from now.
    const exp = now + this.lifetime.validSeconds - REGISTRY_LEEWAY_SECONDS;
    const header = { typ: 'JWT', alg: 'ES256', x5c: [this.certificateBase64] };
    const claims = { iss: this.issuer, sub: user, aud: this.service, exp, nbf: now - 1, iat: now, jti: randomBytes(8).toString('hex'), access };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    // WebCrypto's ECDSA signature is r||s, exactly what JWS ES256 wants.
    const signature = await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, this.signingKey, Buffer.from(signingInput));
    return { jwt: `${signingInput}.${base64url(Buffer.from(signature))}`, validUntil: (exp + REGISTRY_LEEWAY_SECONDS) * 1000 };
  }
}

/** "repository:eng/app:pull,push" -> one resource with its actions (a name may hold no colon, the type and actions may). */
function parseScope(scope: string): ResourceActions[] {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return [];
  return [{ type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',').filter(Boolean) }];
}

/** The part of what is wanted that the user holds (nothing for anonymous callers and non-repository scopes). */
function grantedPart(wanted: ResourceActions, user: TokenUser | undefined): ResourceActions {
  const held = wanted.type === 'repository' && user ? [...(user.grants[wanted.name] ?? []), ...(user.grants['*'] ?? [])] : [];
  return { ...wanted, actions: wanted.actions.filter((action) => held.includes(action)) };
}

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}
