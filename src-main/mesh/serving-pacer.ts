import { realTiming, TokenBucket, type Charge, type Grant, type Timing } from '../core/upstream/bandwidth.js';

/**
 * Where this laptop's own pulls show: the bandwidth budget's grants (core's
 * BandwidthBudget.onGrant), of which the 'pull' ones are its own WAN pulls.
 */
export interface LocalPulls {
  onGrant(listener: (grant: Grant) => void): () => void;
}

/** One chunk sent to peers, as the pacer let it through (for tests and diagnostics, like the budget's grants). */
export interface ServingGrant {
  kind: 'serve';
  bytes: number;
  /** When it passed, on the pacer's clock. */
  at: number;
  /** The serving cap's charge (absent without a cap). */
  cap?: Charge;
  /** Let through by the keep-alive while a local pull was active. */
  keepAlive?: boolean;
}

export interface ServingPacerOptions {
  /** Bytes per second for all peers together; 0 means no cap. Read at every chunk, so Settings apply at once. */
  cap(): number;
  pulls?: LocalPulls;
  /** Serving keeps stepping aside this long after this laptop's last pull chunk (the gaps between a pull's layers). */
  pullHoldoffMs?: number;
  /** While stepping aside, serving still sends one chunk this often, so a follower's idle timeout never cuts it. */
  keepAliveMs?: number;
  timing?: Timing;
}

export interface PaceOptions {
  /** The chunk is of a blob this laptop is still fetching (a follower's): it keeps to the cap but never steps aside. */
  following?: boolean;
}

const DEFAULT_PULL_HOLDOFF_MS = 1_000;
/** Well inside the follower's idle timeout (peer-client.ts: 10 s). */
const DEFAULT_KEEPALIVE_MS = 2_000;
const YIELD_POLL_MS = 50;

/**
 * Serving peers never starves this laptop's own pulls. With a serving cap set
 * (Settings), every chunk sent to peers, all peers together and in the order
 * they came, waits for the cap's token bucket; and while a pull of this
 * laptop's own is flowing (its chunks never wait here), serving of stored
 * blobs steps aside: one chunk per keep-alive, then the rest once the pull is
 * over. Followers of a blob still arriving from the WAN keep to the cap only:
 * their bytes come no faster than this laptop's own fetch of them. Without a cap
 * serving goes as fast as the peers take it. Pulls never wait on serving.
 */
export class ServingPacer {
  private readonly timing: Timing;
  private readonly holdoffMs: number;
  private readonly keepAliveMs: number;
  private bucket?: TokenBucket;
  private lastPullAt = Number.NEGATIVE_INFINITY;
  private lastServedAt = Number.NEGATIVE_INFINITY;
  private queue: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(grant: ServingGrant) => void>();
  private readonly unsubscribe?: () => void;

  constructor(private readonly options: ServingPacerOptions) {
    this.timing = options.timing ?? realTiming;
    this.holdoffMs = options.pullHoldoffMs ?? DEFAULT_PULL_HOLDOFF_MS;
    this.keepAliveMs = options.keepAliveMs ?? DEFAULT_KEEPALIVE_MS;
    this.unsubscribe = options.pulls?.onGrant((grant) => {
      if (grant.kind === 'pull') this.lastPullAt = this.timing.now();
    });
  }

  /** Whether chunks to peers are paced at all (no cap: they are not, and nothing waits). */
  get capped(): boolean {
    return this.options.cap() > 0;
  }

  /** Resolves when the chunk may be sent to a peer; chunks are let through in the order they asked. */
  pace(bytes: number, how: PaceOptions = {}): Promise<void> {
    const turn = this.queue.then(() => this.grant(bytes, how));
    this.queue = turn.then(() => undefined, () => undefined);
    return turn;
  }

  /** Every chunk let through from now on; returns the unsubscribe function. */
  onGrant(listener: (grant: ServingGrant) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  isPullActive(): boolean {
    return this.timing.now() - this.lastPullAt < this.holdoffMs;
  }

  stop(): void {
    this.unsubscribe?.();
  }

  private async grant(bytes: number, { following = false }: PaceOptions): Promise<void> {
    const cap = this.options.cap();
    if (!(cap > 0)) {
      this.bucket = undefined;
      return this.emit({ kind: 'serve', bytes, at: this.timing.now() });
    }
    while (!following && this.isPullActive() && this.timing.now() - this.lastServedAt < this.keepAliveMs) await this.timing.sleep(YIELD_POLL_MS);
    const keepAlive = !following && this.isPullActive();
    if (!this.bucket) this.bucket = new TokenBucket(cap, this.timing);
    else if (this.bucket.bytesPerSecond !== cap) this.bucket.setRate(cap);
    const charge = await this.bucket.take(bytes);
    this.lastServedAt = this.timing.now();
    this.emit({ kind: 'serve', bytes, at: this.lastServedAt, cap: charge, ...(keepAlive ? { keepAlive } : {}) });
  }

  private emit(grant: ServingGrant): void {
    for (const listener of this.listeners) listener(grant);
  }
}
