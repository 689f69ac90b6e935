import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { parse as parseCookies } from 'cookie';

/**
 * Who may use the admin listener. Nothing is open, on loopback either: a web
 * page the user visits can send requests to 127.0.0.1, and so can every other
 * user of the machine.
 *
 * - The CLI (and scripts) present the instance's admin token as a Bearer
 *   token; it sits in a file only the owner can read (app/admin-credentials).
 * - The browser dashboard presents a session cookie (HttpOnly, SameSite=Strict)
 *   that it got by opening a URL with a one-time login code.
 * - /metrics also takes its own token, or is opened alone by --metrics-public.
 */
export interface AdminAccessOptions {
  adminToken: string;
  metricsToken?: string;
  metricsPublic?: boolean;
}

export type Credential = 'token' | 'session' | 'metrics-token' | 'public';

/** A login code is for the next minutes, and for one browser. */
const LOGIN_CODE_TTL_MS = 10 * 60 * 1000;
/** A browser session lasts a working week after its last use (and ends at a restart). */
const SESSION_IDLE_TTL_MS = 7 * 24 * 60 * 60 * 1000;
const MAX_OPEN_CODES = 64;

export class AdminAccess {
  private readonly loginCodes = new Map<string, number>();
  private readonly sessions = new Map<string, number>();

  constructor(private readonly options: AdminAccessOptions, private readonly now: () => number = Date.now) {}

  /** A fresh single-use code for `/login?code=`. Older unused codes stay valid until they expire. */
  issueLoginCode(): string {
    this.forgetExpired(this.loginCodes);
    if (this.loginCodes.size >= MAX_OPEN_CODES) this.loginCodes.delete(this.loginCodes.keys().next().value!);
    const code = secret();
    this.loginCodes.set(code, this.now() + LOGIN_CODE_TTL_MS);
    return code;
  }

  /** Trades a login code for a session id, once; undefined when the code is unknown, used or expired. */
  redeemLoginCode(code: string): string | undefined {
    const expires = this.loginCodes.get(code);
    this.loginCodes.delete(code);
    if (expires === undefined || expires < this.now()) return undefined;
    const session = secret();
    this.sessions.set(session, this.now() + SESSION_IDLE_TTL_MS);
    return session;
  }

  endSession(session: string | undefined): void {
    if (session) this.sessions.delete(session);
  }

  /** The credential a request presents for the API and the event stream, if any is valid. */
  forApi(req: IncomingMessage, cookieName: string): Credential | undefined {
    if (this.presentsToken(req, this.options.adminToken)) return 'token';
    const session = readCookie(req, cookieName);
    const expires = session === undefined ? undefined : this.sessions.get(session);
    if (expires === undefined || expires < this.now()) return undefined;
    this.sessions.set(session!, this.now() + SESSION_IDLE_TTL_MS);
    return 'session';
  }

  /** /metrics: the API's credentials, the metrics token, or nothing when opened on purpose. */
  forMetrics(req: IncomingMessage, cookieName: string): Credential | undefined {
    if (this.options.metricsToken && this.presentsToken(req, this.options.metricsToken)) return 'metrics-token';
    return this.forApi(req, cookieName) ?? (this.options.metricsPublic ? 'public' : undefined);
  }

  private presentsToken(req: IncomingMessage, expected: string): boolean {
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Bearer ')) return false;
    const given = Buffer.from(header.slice('Bearer '.length).trim());
    const wanted = Buffer.from(expected);
    return given.length === wanted.length && timingSafeEqual(given, wanted);
  }

  private forgetExpired(entries: Map<string, number>): void {
    const now = this.now();
    for (const [key, expires] of entries) if (expires < now) entries.delete(key);
  }
}

/** 256 random bits, URL-safe. */
export function secret(): string {
  return randomBytes(32).toString('base64url');
}

function readCookie(req: IncomingMessage, name: string): string | undefined {
  return parseCookies(req.headers.cookie ?? '')[name];
}
