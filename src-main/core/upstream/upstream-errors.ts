import { OciError } from '../oci/errors.js';
import { headerValue, UpstreamUnavailableError, type UpstreamResponse } from './registry-client.js';
import { UpstreamAuthError } from './token-auth.js';

export type UpstreamSubject = 'manifest' | 'blob' | 'repository';

const NOT_FOUND_CODE = { manifest: 'MANIFEST_UNKNOWN', blob: 'BLOB_UNKNOWN', repository: 'NAME_UNKNOWN' } as const;

/** The OCI error a client should see for an upstream answer that is not a success. */
export function errorForUpstreamStatus(response: UpstreamResponse, subject: UpstreamSubject, what: string): OciError {
  const from = `upstream ${new URL(response.endpoint).host}`;
  switch (response.status) {
    case 401:
      return new OciError(401, 'UNAUTHORIZED', `${from} requires authentication for ${what}: add credentials for it to Layover or docker login`);
    case 403:
      return new OciError(403, 'DENIED', `${from} denied access to ${what}`);
    case 404:
      return new OciError(404, NOT_FOUND_CODE[subject], `${what} not found on ${from}`);
    case 429: {
      const retryAfter = headerValue(response.headers['retry-after']);
      return new OciError(429, 'TOOMANYREQUESTS', `${from} is rate-limiting requests for ${what}`, retryAfter ? { 'retry-after': retryAfter } : {});
    }
    default:
      return new OciError(503, 'UNAVAILABLE', `${from} answered HTTP ${response.status} for ${what}`);
  }
}

/** The OCI error for an upstream that could not be asked at all (down, refused, timed out, bad auth). */
export function errorForUpstreamFailure(error: unknown, what: string): OciError {
  if (error instanceof OciError) return error;
  if (error instanceof UpstreamAuthError) {
    return new OciError(error.status === 403 ? 403 : 401, error.status === 403 ? 'DENIED' : 'UNAUTHORIZED', `${error.message} (${what})`);
  }
  if (error instanceof UpstreamUnavailableError) return new OciError(503, 'UNAVAILABLE', `${error.message} (${what})`);
  return new OciError(503, 'UNAVAILABLE', `upstream request for ${what} failed: ${(error as Error).message}`);
}

/** Upstream trouble that justifies serving a cached tag (stale-if-error), as opposed to an answer about access. */
export function isUpstreamOutage(error: unknown): boolean {
  if (error instanceof UpstreamUnavailableError) return true;
  if (error instanceof OciError) return error.status >= 500 || error.status === 429;
  return !(error instanceof UpstreamAuthError);
}
