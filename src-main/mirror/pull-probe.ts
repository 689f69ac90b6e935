import type { IncomingMessage, ServerResponse } from 'node:http';
import { DOCKER_HUB } from '../core/oci/docker-hub.js';
import { OciError } from '../core/oci/errors.js';
import { isProbeNonce, PROBE_RECORD_PATH, PROBE_REPOSITORY, type ProbeLog } from '../core/telemetry/pull-probes.js';
import { sendJson } from '../core/oci/responses.js';
import type { Route } from '../core/oci/routes.js';

/**
 * The mirror's side of the pull probe (core/telemetry/pull-probes.ts): a
 * manifest request for docker.io's layover-probe:<nonce> is recorded and
 * answered 404 at once, before routing, client auth or any upstream; and
 * GET /layover/probes/<nonce> tells whoever sent the probe whether it came.
 */

/** The nonce, when the request is a pull probe: Docker sends it at the root, containerd with ?ns=docker.io. */
export function probeNonce(route: Route, ns: string | null): string | undefined {
  if (route.kind !== 'manifest' || (ns !== null && ns !== DOCKER_HUB)) return undefined;
  if (route.path !== PROBE_REPOSITORY && `library/${route.path}` !== PROBE_REPOSITORY) return undefined;
  return isProbeNonce(route.reference) ? route.reference : undefined;
}

/** Records the arrival; the answer is the returned 404, so no upstream is ever asked. */
export function probeArrived(probes: ProbeLog, req: IncomingMessage, nonce: string): OciError {
  probes.record(nonce, req.socket.remoteAddress ?? 'unknown');
  return new OciError(404, 'MANIFEST_UNKNOWN', `${PROBE_REPOSITORY}:${nonce} is Layover's pull probe: it arrived, and no such image exists`);
}

export function isProbeRecordRequest(pathname: string): boolean {
  return pathname.startsWith(PROBE_RECORD_PATH);
}

/** 200 with the arrival, or 404: the nonce is the checker's own secret, so this tells nothing to anyone else. */
export function sendProbeRecord(probes: ProbeLog, req: IncomingMessage, res: ServerResponse, pathname: string): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new OciError(405, 'UNSUPPORTED', 'probe records are read with GET', { allow: 'GET, HEAD' });
  const nonce = pathname.slice(PROBE_RECORD_PATH.length);
  const arrival = isProbeNonce(nonce) ? probes.arrival(nonce) : undefined;
  if (arrival) return sendJson(req, res, 200, { arrived: true, ...arrival });
  sendJson(req, res, 404, { arrived: false, nonce });
}
