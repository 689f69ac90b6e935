/**
 * Docker Hub's pull limit as its answers state it: `ratelimit-limit: 100;w=21600`
 * and `ratelimit-remaining: 76;w=21600` (pulls per window of w seconds, counted
 * per IP address for anonymous pulls, per account otherwise). Only manifest
 * GETs count; a HEAD (how Layover revalidates tags) reports the figures
 * without spending one. Any registry that sends these headers is read alike.
 */
import type { RateLimitStatus } from '../../api/types.js';

/** Warn when this share of the window's pulls or less is left (and at least this many pulls). */
const LOW_SHARE = 0.2;
const LOW_AT_LEAST = 5;

export interface RateLimitReading {
  limit: number;
  remaining: number;
  /** The window the limit is counted over, when the registry names it. */
  windowSeconds?: number;
  /** docker-ratelimit-source: the address or account the limit is counted for. */
  source?: string;
}

type Headers = Record<string, string | string[] | undefined>;

/** "100;w=21600" → { count: 100, windowSeconds: 21600 }; undefined for anything else. */
function parseLimitHeader(value: string | string[] | undefined): { count: number; windowSeconds?: number } | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  const [countText, ...params] = text.split(';').map((part) => part.trim());
  const count = Number(countText);
  if (!countText || !Number.isSafeInteger(count) || count < 0) return undefined;
  const window = params.map((param) => /^w=(\d+)$/.exec(param)?.[1]).find(Boolean);
  return { count, ...(window ? { windowSeconds: Number(window) } : {}) };
}

export function parseRateLimit(headers: Headers): RateLimitReading | undefined {
  const limit = parseLimitHeader(headers['ratelimit-limit']);
  const remaining = parseLimitHeader(headers['ratelimit-remaining']);
  if (!limit || !remaining) return undefined;
  const source = headers['docker-ratelimit-source'];
  const windowSeconds = limit.windowSeconds ?? remaining.windowSeconds;
  return {
    limit: limit.count,
    remaining: Math.min(remaining.count, limit.count),
    ...(windowSeconds ? { windowSeconds } : {}),
    ...(typeof source === 'string' && source ? { source } : {}),
  };
}

/** What one endpoint last said about its limit, and whether it refused us with 429. */
export class RateLimitState {
  private reading?: RateLimitReading;
  private observedAt = 0;
  private exhaustedAt?: number;
  private retryAt?: number;

  /** Reads every answer of the endpoint; a 429 marks the limit reached even when the answer carries no figures. */
  observe(status: number, headers: Headers, now = Date.now()): void {
    const reading = parseRateLimit(headers);
    if (reading) {
      this.reading = reading;
      this.observedAt = now;
    }
    if (status === 429) {
      this.exhaustedAt = now;
      if (this.reading) this.reading = { ...this.reading, remaining: 0 };
      const retryAfter = Number(Array.isArray(headers['retry-after']) ? headers['retry-after'][0] : headers['retry-after']);
      this.retryAt = Number.isFinite(retryAfter) && retryAfter > 0 ? now + retryAfter * 1000 : undefined;
    } else if (status < 400 && (!reading || reading.remaining > 0)) {
      this.exhaustedAt = undefined;
      this.retryAt = undefined;
    }
  }

  /** For Status: undefined while the endpoint never stated a limit nor refused us. */
  status(): RateLimitStatus | undefined {
    if (!this.reading && this.exhaustedAt === undefined) return undefined;
    const reading = this.reading;
    const low = reading ? reading.remaining <= Math.max(LOW_AT_LEAST, Math.floor(reading.limit * LOW_SHARE)) : true;
    return {
      ...(reading ? { limit: reading.limit, remaining: reading.remaining } : {}),
      ...(reading?.windowSeconds ? { windowSeconds: reading.windowSeconds } : {}),
      ...(reading?.source ? { source: reading.source } : {}),
      ...(reading ? { observedAt: this.observedAt } : {}),
      low,
      exhausted: this.exhaustedAt !== undefined,
      ...(this.exhaustedAt !== undefined ? { exhaustedAt: this.exhaustedAt } : {}),
      ...(this.retryAt !== undefined ? { retryAt: this.retryAt } : {}),
    };
  }
}
