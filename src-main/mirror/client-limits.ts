import type { LimitSettings } from '../api/types.js';
import { OciError } from '../core/oci/errors.js';
import { isLoopbackHost } from '../core/net/loopback.js';

/** Bursts up to this many seconds' worth of requests pass at once (a pull asks for all its layers together). */
const BURST_SECONDS = 4;
/** Forget clients idle this long, so the table does not grow with every address ever seen. */
const FORGET_AFTER_MS = 10 * 60_000;

interface ClientState {
  inFlight: number;
  tokens: number;
  refilledAt: number;
}

/**
 * Per-client-address fairness for a mirror shared on the office LAN: a cap
 * on requests in flight and a token bucket on the request rate. Over either,
 * the client gets 429 with Retry-After, as registries answer. The machine's
 * own clients (a laptop's Docker, on loopback) are not rate limited: there is
 * no one to be fair to, and a build's burst of pulls must never fail.
 */
export class ClientLimiter {
  private readonly clients = new Map<string, ClientState>();
  private lastSweep = Date.now();

  constructor(private readonly limits: LimitSettings) {}

  /** Admits a request or throws TOOMANYREQUESTS; call the returned function when the response is done. */
  admit(address: string, now = Date.now()): () => void {
    this.sweep(now);
    const state = this.clients.get(address) ?? { inFlight: 0, tokens: this.capacity, refilledAt: now };
    this.clients.set(address, state);
    state.tokens = Math.min(this.capacity, state.tokens + ((now - state.refilledAt) / 1000) * this.limits.perClientRequestsPerSecond);
    state.refilledAt = now;
    if (state.inFlight >= this.limits.perClientConcurrency) {
      throw tooMany(`more than ${this.limits.perClientConcurrency} requests in flight from ${address}`, 1);
    }
    if (state.tokens < 1 && !isLoopbackAddress(address)) {
      const wait = Math.ceil((1 - state.tokens) / this.limits.perClientRequestsPerSecond);
      throw tooMany(`more than ${this.limits.perClientRequestsPerSecond} requests per second from ${address}`, wait);
    }
    state.tokens = Math.max(0, state.tokens - 1);
    state.inFlight += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      state.inFlight -= 1;
    };
  }

  private get capacity(): number {
    return this.limits.perClientRequestsPerSecond * BURST_SECONDS;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < FORGET_AFTER_MS) return;
    this.lastSweep = now;
    for (const [address, state] of this.clients) {
      if (state.inFlight === 0 && now - state.refilledAt > FORGET_AFTER_MS) this.clients.delete(address);
    }
  }
}

/** A socket's remote address on loopback, IPv4-mapped IPv6 included. */
function isLoopbackAddress(address: string): boolean {
  return isLoopbackHost(address.replace(/^::ffff:/, ''));
}

function tooMany(message: string, retryAfterSeconds: number): OciError {
  return new OciError(429, 'TOOMANYREQUESTS', message, { 'retry-after': String(Math.max(1, retryAfterSeconds)) });
}
