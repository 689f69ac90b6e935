import { randomBytes } from 'node:crypto';

/**
 * The pull probe: proof that a runtime's pulls really arrive at Layover,
 * rather than an address in a config file that nobody reaches (Docker then
 * pulls from Docker Hub without a word). Whoever checks asks the runtime for
 * a reserved Docker Hub name whose tag is a fresh nonce; Layover's mirror
 * recognises it, records that it arrived, and answers 404 at once without
 * asking any upstream; the checker then asks the mirror whether its nonce
 * arrived. Nothing is downloaded, nothing leaves Layover.
 *
 * Shared by the mirror (which answers and records) and the runtimes (which
 * send probes and read the record), so it lives here in core.
 */

/** The reserved repository, under the default registry: `docker.io/library/layover-probe:<nonce>`. */
export const PROBE_REPOSITORY = 'library/layover-probe';

/** Where the mirror says whether a probe arrived: GET <mirror>/layover/probes/<nonce> (200 or 404). */
export const PROBE_RECORD_PATH = '/layover/probes/';

/** How many arrivals are kept: a check reads its own within seconds of sending it. */
const KEPT_ARRIVALS = 64;

const NONCE = /^[0-9a-f]{32}$/;

export function newProbeNonce(): string {
  return randomBytes(16).toString('hex');
}

export function isProbeNonce(text: string): boolean {
  return NONCE.test(text);
}

export interface ProbeArrival {
  nonce: string;
  at: number;
  /** The address the probe came from, as the mirror saw it (the VM's, for Docker Desktop). */
  client: string;
}

/** The probes that arrived lately, oldest dropped first. */
export class ProbeLog {
  private readonly arrivals = new Map<string, ProbeArrival>();

  record(nonce: string, client: string): void {
    if (this.arrivals.has(nonce)) return; // Docker sends HEAD, then GET: the first one is the arrival
    this.arrivals.set(nonce, { nonce, at: Date.now(), client });
    if (this.arrivals.size > KEPT_ARRIVALS) this.arrivals.delete(this.arrivals.keys().next().value!);
  }

  arrival(nonce: string): ProbeArrival | undefined {
    return this.arrivals.get(nonce);
  }
}
