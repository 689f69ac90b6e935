/** Consecutive failures after which an endpoint is skipped for a while. */
const FAILURES_BEFORE_DOWN = 3;
const FIRST_BACKOFF_MS = 10_000;
const MAX_BACKOFF_MS = 5 * 60_000;
/** Weight of the newest sample in the latency average. */
const LATENCY_SMOOTHING = 0.3;
/** Weight of the newest transfer in the throughput average: a few transfers move it, one outlier does not. */
const THROUGHPUT_SMOOTHING = 0.3;
/** Smaller bodies measure the round trip, not the link: they do not count towards throughput. */
export const MIN_THROUGHPUT_SAMPLE_BYTES = 256 * 1024;

/**
 * Tracks whether an upstream endpoint answers. One that keeps failing is
 * skipped (the next endpoint is tried first) and retried after a backoff that
 * doubles while it stays down.
 */
export class EndpointHealth {
  consecutiveFailures = 0;
  downUntil = 0;
  latencyMs?: number;
  lastError?: string;
  lastSuccessAt?: number;
  lastFailureAt?: number;
  /** Bytes per second of real blob transfers from this endpoint, averaged (EWMA); undefined until one was measured. */
  throughputBytesPerSecond?: number;
  throughputSamples = 0;

  isDown(now = Date.now()): boolean {
    return now < this.downUntil;
  }

  recordSuccess(latencyMs: number, now = Date.now()): void {
    this.consecutiveFailures = 0;
    this.downUntil = 0;
    this.lastSuccessAt = now;
    this.latencyMs = this.latencyMs === undefined ? latencyMs : this.latencyMs + LATENCY_SMOOTHING * (latencyMs - this.latencyMs);
  }

  /** A finished transfer: `bytes` arrived in `seconds` after the answer's headers. */
  recordTransfer(bytes: number, seconds: number): void {
    if (bytes < MIN_THROUGHPUT_SAMPLE_BYTES || !(seconds > 0)) return;
    const rate = bytes / seconds;
    this.throughputSamples += 1;
    this.throughputBytesPerSecond = this.throughputBytesPerSecond === undefined
      ? rate
      : this.throughputBytesPerSecond + THROUGHPUT_SMOOTHING * (rate - this.throughputBytesPerSecond);
  }

  recordFailure(error: string, now = Date.now()): void {
    this.consecutiveFailures += 1;
    this.lastError = error;
    this.lastFailureAt = now;
    const beyond = this.consecutiveFailures - FAILURES_BEFORE_DOWN;
    if (beyond >= 0) this.downUntil = now + Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** beyond);
  }

  state(now = Date.now()): 'healthy' | 'degraded' | 'down' | 'unknown' {
    if (this.isDown(now)) return 'down';
    if (this.consecutiveFailures > 0) return 'degraded';
    return this.lastSuccessAt === undefined ? 'unknown' : 'healthy';
  }
}
