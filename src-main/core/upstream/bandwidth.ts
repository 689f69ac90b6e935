import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Sharing the slow link (DESIGN.md: "Interactive pulls come first"). One
 * budget per registry, an optional cap per prefetch job, and a rule: while a
 * client pull is waiting or flowing, prefetch steps aside.
 *
 * The single-flight fetcher calls `pace(bytes, kind, registry)` with every
 * chunk before it is written. Pull chunks never wait: they are spent from the
 * registry's budget so prefetch gets only what is left. Prefetch chunks wait
 * for pulls to finish, then for the job's cap, then for the registry budget.
 */

/**
 * Which bytes are these: a client's pull, background prefetch, or bytes from
 * a LAN peer or a bundle ('peer': they never cross the slow link, so they are
 * counted for the job's progress but never held back or charged).
 */
export type PacedKind = 'pull' | 'prefetch' | 'peer';

/** The budget as core's blob fetcher sees it: told the registry and the kind of every chunk, and when a pull's transfer runs. */
export interface Pacer {
  pace(bytes: number, kind: PacedKind, registry: string): Promise<void>;
  /** A pull's transfer from the registry started (done false) or ended: prefetch from it yields while one runs. */
  notePullTransfer(registry: string, id: string, done: boolean): void;
}

/** Clock and sleep, injectable so unit tests need no wall-clock waits. */
export interface Timing {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realTiming: Timing = {
  now: () => performance.now(),
  sleep: async (ms, signal) => {
    try {
      await delay(ms, undefined, signal ? { signal } : undefined);
    } catch (error) {
      throw signal?.aborted ? signal.reason : error; // the job's own reason (paused, cancelled), not a bare AbortError
    }
  },
};

/** How a bucket charged one chunk: when (its own clock), and how long it asked to wait for it first. */
export interface Charge {
  at: number;
  /** The sleeps the bucket asked for before this chunk (ms; a loaded machine sleeps longer, never shorter). */
  waitedMs: number;
  /** The bucket's rate (bytes/s) and burst (bytes) at that moment: over any span, bytes charged ≤ burst + rate × span. */
  rate: number;
  burst: number;
}

/** Credit is kept for at most this long of the rate: an idle link does not bank a burst. */
const BURST_SECONDS = 0.25;
/** ...but always room for one large chunk, so tiny rates still move. */
const MIN_BURST_BYTES = 64 * 1024;

/**
 * A token bucket that may go into debt: a chunk larger than the credit is
 * taken whole and the next taker waits the debt off. Takers are served in the
 * order they came, so over any interval the bytes stay within rate × time
 * plus one burst and one chunk.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(private rate: number, private readonly timing: Timing = realTiming) {
    this.checkRate(rate);
    this.tokens = this.capacity();
    this.updatedAt = timing.now();
  }

  get bytesPerSecond(): number {
    return this.rate;
  }

  /** A settings change applies from the next chunk on. */
  setRate(rate: number): void {
    this.checkRate(rate);
    this.refill();
    this.rate = rate;
    this.tokens = Math.min(this.tokens, this.capacity());
  }

  /** Records bytes that already crossed the link (a pull): no wait, but later takers pay for them. */
  spend(bytes: number, waitedMs = 0): Charge {
    this.refill();
    this.tokens -= bytes;
    return { at: this.updatedAt, waitedMs, rate: this.rate, burst: this.capacity() };
  }

  /** Waits until the bucket is out of debt (after everyone who asked earlier), then spends. */
  take(bytes: number, signal?: AbortSignal): Promise<Charge> {
    const turn = this.queue.then(() => this.waitForCredit(signal)).then((waitedMs) => this.spend(bytes, waitedMs));
    this.queue = turn.then(() => undefined, () => undefined);
    return signal ? abortable(turn, signal) : turn;
  }

  /** Resolves with the sleeps it asked for. */
  private async waitForCredit(signal?: AbortSignal): Promise<number> {
    let waitedMs = 0;
    for (;;) {
      signal?.throwIfAborted();
      this.refill();
      if (this.tokens >= 0) return waitedMs;
      const ms = Math.max(1, Math.ceil((-this.tokens / this.rate) * 1000));
      waitedMs += ms;
      await this.timing.sleep(ms, signal);
    }
  }

  private refill(): void {
    const now = this.timing.now();
    this.tokens = Math.min(this.capacity(), this.tokens + ((now - this.updatedAt) / 1000) * this.rate);
    this.updatedAt = now;
  }

  private capacity(): number {
    return Math.max(this.rate * BURST_SECONDS, MIN_BURST_BYTES);
  }

  private checkRate(rate: number): void {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new Error(`a bandwidth limit must be a positive number of bytes per second, got ${rate}`);
  }
}

/** Rejects as soon as the signal aborts, without waiting for the promise (which settles on its own later). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Thrown at a prefetch chunk of an interruptible transfer while a pull is
 * active: the transfer closes its connection (so the link is free at once,
 * not after the socket buffers drain) and resumes later with Range.
 */
export class YieldToPull extends Error {
  constructor(readonly registry: string) {
    super(`prefetch from ${registry} yields to a client pull`);
    this.name = 'YieldToPull';
  }
}

/** One prefetch transfer as the budget sees it: whose bytes, under which cap, stoppable how. */
export interface PrefetchTransfer {
  registry: string;
  /** Yield by throwing YieldToPull (the transfer can resume with Range) rather than by waiting. */
  interruptible?: boolean;
  /** The job's own cap, shared by all of the job's transfers. */
  cap?: TokenBucket;
  /** Aborted when the job is paused or cancelled: the transfer stops at its next chunk. */
  signal?: AbortSignal;
  /** Told about every chunk that passed, for the job's progress. */
  onBytes?: (bytes: number) => void;
}

/**
 * One chunk the budget let through, for whoever watches the link being shared
 * (tests, diagnostics): whose bytes, and what each bucket charged for them.
 */
export interface Grant {
  kind: PacedKind;
  /** The registry charged; undefined for a pull chunk whose registry the caller did not say. */
  registry: string | undefined;
  bytes: number;
  /** When the chunk passed, on the budget's clock. */
  at: number;
  /** For a prefetch chunk of a job with its own cap. */
  cap?: Charge;
  /** For a chunk charged to a registry's budget (a pull charged to one named registry, or prefetch). */
  budget?: Charge;
  /** A prefetch chunk let through by the keep-alive while a pull was active. */
  keepAlive?: boolean;
}

interface TransferState extends PrefetchTransfer {
  lastChunkAt: number;
}

export interface BandwidthBudgetOptions {
  /** A registry's whole budget in bytes per second; 0 or undefined means unlimited. Read at every chunk, so settings apply at once. */
  limitOf(registry: string): number | undefined;
  /** Prefetch keeps yielding this long after the last sign of a pull: the gaps between one pull's layers. */
  pullHoldoffMs?: number;
  /** While yielding, each prefetch transfer still moves one chunk this often, so the upstream's idle timeout never cuts it. */
  keepAliveMs?: number;
  timing?: Timing;
}

const DEFAULT_PULL_HOLDOFF_MS = 1_000;
const DEFAULT_KEEPALIVE_MS = 5_000;
const YIELD_POLL_MS = 50;
/** Pull activity whose registry the caller did not say. */
const ANY_REGISTRY = '';

export class BandwidthBudget {
  private readonly current = new AsyncLocalStorage<TransferState>();
  private readonly buckets = new Map<string, TokenBucket>();
  /** Registry -> ids of pull transfers now running upstream. */
  private readonly pullTransfers = new Map<string, Set<string>>();
  /** Registry (or ANY_REGISTRY) -> when a pull last showed activity. */
  private readonly lastPullAt = new Map<string, number>();
  private readonly timing: Timing;
  private readonly holdoffMs: number;
  private readonly keepAliveMs: number;
  private readonly grantListeners = new Set<(grant: Grant) => void>();

  constructor(private readonly options: BandwidthBudgetOptions) {
    this.timing = options.timing ?? realTiming;
    this.holdoffMs = options.pullHoldoffMs ?? DEFAULT_PULL_HOLDOFF_MS;
    this.keepAliveMs = options.keepAliveMs ?? DEFAULT_KEEPALIVE_MS;
  }

  /**
   * Runs `fetch` so that the upstream bytes it starts are paced as this
   * transfer's. The fetcher's pump runs in the async context of whoever
   * started it, which is how a chunk finds its job without the fetcher
   * knowing about jobs.
   */
  runPrefetch<T>(transfer: PrefetchTransfer, fetch: () => Promise<T>): Promise<T> {
    return this.current.run({ ...transfer, lastChunkAt: Number.NEGATIVE_INFINITY }, fetch);
  }

  /**
   * The fetcher's pacer: every chunk, with its kind and the registry whose link it crossed (a prefetch chunk's
   * registry defaults to its job's). A prefetch transfer a client joined is reported as 'pull' and goes at full
   * speed; it is no longer the job's to stop.
   */
  readonly pace = async (bytes: number, kind: PacedKind, registry?: string): Promise<void> => {
    const transfer = this.current.getStore();
    if (kind === 'peer') return transfer?.onBytes?.(bytes);
    if (kind === 'pull' || !transfer) return this.pacePull(bytes, registry ?? transfer?.registry);
    return this.pacePrefetch(bytes, transfer);
  };

  /** Every chunk let through from now on, as it passes; returns the unsubscribe function. */
  onGrant(listener: (grant: Grant) => void): () => void {
    this.grantListeners.add(listener);
    return () => this.grantListeners.delete(listener);
  }

  /** A pull transfer started or ended upstream (the fetcher says so): prefetch yields while any runs. */
  notePullTransfer(registry: string, id: string, done: boolean): void {
    const ids = this.pullTransfers.get(registry) ?? new Set<string>();
    if (done) ids.delete(id);
    else ids.add(id);
    this.pullTransfers.set(registry, ids);
    this.lastPullAt.set(registry, this.timing.now());
  }

  /** A client asked for something (a manifest): its blobs are likely next, so prefetch steps aside now. */
  notePullActivity(registry?: string): void {
    this.lastPullAt.set(registry ?? ANY_REGISTRY, this.timing.now());
  }

  /** Resolves once no pull from the registry is waiting or flowing. */
  async whenPullsEnd(registry: string, signal?: AbortSignal): Promise<void> {
    while (this.isPullActive(registry)) await this.timing.sleep(YIELD_POLL_MS, signal);
  }

  isPullActive(registry: string): boolean {
    if ((this.pullTransfers.get(registry)?.size ?? 0) > 0) return true;
    const now = this.timing.now();
    return [registry, ANY_REGISTRY].some((key) => now - (this.lastPullAt.get(key) ?? Number.NEGATIVE_INFINITY) < this.holdoffMs);
  }

  /** A pull chunk never waits; it is charged to its registry's budget. Without a registry (never from the fetcher) it is charged nowhere. */
  private pacePull(bytes: number, registry: string | undefined): void {
    this.notePullActivity(registry);
    const budget = registry === undefined ? undefined : this.bucketOf(registry)?.spend(bytes);
    if (this.grantListeners.size === 0) return;
    this.emitGrant({ kind: 'pull', registry, bytes, at: this.timing.now(), ...(budget ? { budget } : {}) });
  }

  private async pacePrefetch(bytes: number, transfer: TransferState): Promise<void> {
    transfer.signal?.throwIfAborted();
    const keepAlive = await this.yieldToPulls(transfer);
    const cap = await transfer.cap?.take(bytes, transfer.signal);
    const budget = await this.bucketOf(transfer.registry)?.take(bytes, transfer.signal);
    transfer.onBytes?.(bytes);
    if (this.grantListeners.size === 0) return;
    this.emitGrant({ kind: 'prefetch', registry: transfer.registry, bytes, at: this.timing.now(), ...(cap ? { cap } : {}), ...(budget ? { budget } : {}), ...(keepAlive ? { keepAlive } : {}) });
  }

  private emitGrant(grant: Grant): void {
    for (const listener of this.grantListeners) listener(grant);
  }

  /**
   * Waits while a pull is active, letting one chunk through per keep-alive interval (then true);
   * an interruptible transfer stops instead.
   */
  private async yieldToPulls(transfer: TransferState): Promise<boolean> {
    if (transfer.interruptible && this.isPullActive(transfer.registry)) throw new YieldToPull(transfer.registry);
    while (this.isPullActive(transfer.registry) && this.timing.now() - transfer.lastChunkAt < this.keepAliveMs) {
      await this.timing.sleep(YIELD_POLL_MS, transfer.signal);
    }
    transfer.lastChunkAt = this.timing.now();
    return this.isPullActive(transfer.registry);
  }

  private bucketOf(registry: string): TokenBucket | undefined {
    const limit = this.options.limitOf(registry);
    if (!limit || limit <= 0) {
      this.buckets.delete(registry);
      return undefined;
    }
    let bucket = this.buckets.get(registry);
    if (!bucket) this.buckets.set(registry, (bucket = new TokenBucket(limit, this.timing)));
    else if (bucket.bytesPerSecond !== limit) bucket.setRate(limit);
    return bucket;
  }
}
