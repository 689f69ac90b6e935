import { OciError } from '../core/oci/errors.js';
import { DigestMismatchError } from '../core/store/ingest.js';
import { UpstreamUnavailableError } from '../core/upstream/registry-client.js';
import { UpstreamAuthError } from '../core/upstream/token-auth.js';

/** A prefetch failure the API reports as it is: `status` and `code` travel to the dashboard and the CLI. */
export class PrefetchError extends Error {
  constructor(message: string, readonly status = 400, readonly code = 'PREFETCH_FAILED') {
    super(message);
    this.name = 'PrefetchError';
  }
}

/** Why a running job stopped short of failing: paused, cancelled, shutting down, out of its window. */
export class JobInterruption extends Error {
  constructor(readonly reason: 'paused' | 'cancelled' | 'stopping' | 'waiting') {
    super(`prefetch job ${reason === 'waiting' ? 'is waiting for its time window or for prefetch to be resumed' : reason}`);
    this.name = 'JobInterruption';
  }
}

/**
 * The reason a person reads when a job failed: what went wrong and what to
 * do. The core's upstream errors already say where and why; this adds the
 * way out for the failures that have one.
 */
export function explainFailure(error: unknown): string {
  const message = (error as Error)?.message ?? String(error);
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC') return `the disk holding the cache is full (${message}): free space, or set a cache quota so Layover evicts old content`;
  if (code === 'EACCES' || code === 'EPERM') return `Layover may not write its data directory (${message}): check its owner and permissions`;
  if (error instanceof DigestMismatchError) return `${message}: the upstream (or a proxy in between) sent different bytes than its manifest names; nothing was stored, and the next run tries again`;
  if (error instanceof UpstreamUnavailableError) return `${message}: check the link and the registry's endpoints in Settings; the next run tries again`;
  if (error instanceof UpstreamAuthError) return `${message}: check the credentials for this registry in Settings`;
  if (error instanceof OciError && error.status === 401) return message.includes('credentials') ? message : `${message}: add credentials for this registry in Settings`;
  return message;
}

/** Failures a second attempt may cure: a cut connection, an upstream hiccup, wrong bytes once, another job's interruption. */
export function isTransient(error: unknown): boolean {
  if (error instanceof PrefetchError || error instanceof UpstreamAuthError) return false;
  if (error instanceof OciError) return error.status >= 500 || error.status === 429;
  const code = (error as NodeJS.ErrnoException)?.code;
  return code !== 'ENOSPC' && code !== 'EACCES' && code !== 'EPERM';
}
