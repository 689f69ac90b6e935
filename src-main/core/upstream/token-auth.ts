import type { Dispatcher } from 'undici';
import { undici } from './lazy-undici.js';
import type { AuthChallenge } from './challenge.js';
import type { Credentials } from './docker-credentials.js';

/** Registries that omit expires_in mean 60 seconds (distribution's token spec). */
const DEFAULT_TOKEN_SECONDS = 60;
/** Renew a little early so a token never expires in flight. */
const EXPIRY_MARGIN_MS = 10_000;

/** Raised when the registry's auth refuses us: the client must see UNAUTHORIZED, not a generic failure. */
export class UpstreamAuthError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
    this.name = 'UpstreamAuthError';
  }
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/**
 * The Authorization header for one endpoint. It learns the scheme from the
 * endpoint's WWW-Authenticate challenge, then answers Bearer challenges with
 * tokens per scope (anonymous when there are no credentials, reused until
 * they expire) and Basic challenges with the credentials.
 */
export class EndpointAuth {
  private challenge?: AuthChallenge;
  private readonly tokens = new Map<string, CachedToken>();

  constructor(
    private readonly credentials: () => Promise<Credentials | undefined>,
    private readonly dispatcherFor: (url: URL) => Dispatcher,
    private readonly userAgent: string,
  ) {}

  learn(challenge: AuthChallenge): void {
    const changed = this.challenge?.scheme !== challenge.scheme || this.challenge.params.realm !== challenge.params.realm;
    this.challenge = challenge;
    if (changed) this.tokens.clear();
  }

  /** The header to send for this scope, or undefined while no challenge has been seen. */
  async header(scope: string | undefined, challengeScope?: string): Promise<string | undefined> {
    if (!this.challenge) return undefined;
    if (this.challenge.scheme === 'basic') return this.basicHeader();
    if (this.challenge.scheme !== 'bearer') return undefined;
    const wantedScope = scope ?? challengeScope ?? this.challenge.params.scope;
    const token = await this.token(wantedScope);
    return `Bearer ${token}`;
  }

  /** Forgets a token the registry refused, so the next attempt fetches a fresh one. */
  invalidate(scope: string | undefined): void {
    this.tokens.delete(scope ?? '');
  }

  private async basicHeader(): Promise<string | undefined> {
    const creds = await this.credentials();
    if (!creds?.username) return undefined;
    return `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64')}`;
  }

  private async token(scope: string | undefined): Promise<string> {
    const key = scope ?? '';
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.token;
    const fresh = await this.fetchToken(scope);
    this.tokens.set(key, fresh);
    return fresh.token;
  }

  private async fetchToken(scope: string | undefined): Promise<CachedToken> {
    const realm = this.challenge?.params.realm;
    if (!realm) throw new UpstreamAuthError('the registry asked for a bearer token but named no realm', 401);
    const url = new URL(realm);
    const service = this.challenge?.params.service;
    const creds = await this.credentials();
    const response = creds?.identityToken
      ? await this.refreshTokenRequest(url, creds.identityToken, service, scope)
      : await this.getTokenRequest(url, creds, service, scope);
    const text = await response.body.text();
    if (response.statusCode !== 200) {
      const status = response.statusCode === 401 || response.statusCode === 403 ? response.statusCode : 502;
      throw new UpstreamAuthError(`token server ${url.host} answered ${response.statusCode}${creds ? ' for the configured credentials' : ' to an anonymous request'}`, status);
    }
    const body = JSON.parse(text) as { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new UpstreamAuthError(`token server ${url.host} returned no token`, 502);
    const issuedAt = body.issued_at ? Date.parse(body.issued_at) : Date.now();
    const lifetimeMs = (body.expires_in ?? DEFAULT_TOKEN_SECONDS) * 1000;
    return { token, expiresAt: (Number.isFinite(issuedAt) ? Math.min(issuedAt, Date.now()) : Date.now()) + lifetimeMs - EXPIRY_MARGIN_MS };
  }

  private getTokenRequest(url: URL, creds: Credentials | undefined, service?: string, scope?: string) {
    if (service) url.searchParams.set('service', service);
    if (scope) url.searchParams.set('scope', scope);
    const headers: Record<string, string> = { 'user-agent': this.userAgent };
    if (creds?.username) headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64')}`;
    return undici().request(url, { method: 'GET', headers, dispatcher: this.dispatcherFor(url) });
  }

  /** OAuth2 refresh-token grant: how docker uses an identity token (DTR, Hub SSO). */
  private refreshTokenRequest(url: URL, refreshToken: string, service?: string, scope?: string) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'layover' });
    if (service) form.set('service', service);
    if (scope) form.set('scope', scope);
    return undici().request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': this.userAgent },
      body: form.toString(),
      dispatcher: this.dispatcherFor(url),
    });
  }
}
