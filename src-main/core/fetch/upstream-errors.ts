/**
 * Moved to core/upstream/upstream-errors.ts: the typed upstream client owns
 * its error mapping (#14). Kept only for code written against the old place
 * while #14 lands (referrers, prefetch split); import from core/upstream.
 */
export { errorForUpstreamFailure, errorForUpstreamStatus, isUpstreamOutage, type UpstreamSubject } from '../upstream/upstream-errors.js';
