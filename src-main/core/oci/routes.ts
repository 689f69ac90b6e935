import { OciError } from './errors.js';

/** What a /v2 request asks for, before its name is resolved to a registry. */
export type Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; path: string }
  | { kind: 'manifest'; path: string; reference: string }
  | { kind: 'blob'; path: string; digest: string }
  | { kind: 'referrers'; path: string; digest: string };

/** Methods a read-only mirror answers; anything else is UNSUPPORTED. */
const READ_METHODS = new Set(['GET', 'HEAD']);

/**
 * Parses the request target of the pull API. `path` is the name as sent,
 * possibly with a registry prefix; it is checked against the grammar once the
 * registry is known. Parsing works from the end, because repository names may
 * themselves contain "manifests" or "blobs" as components.
 */
export function parseRoute(method: string, pathname: string): Route {
  if (pathname === '/v2' || pathname === '/v2/') return readOnly(method, { kind: 'base' });
  if (!pathname.startsWith('/v2/')) throw new OciError(404, 'UNSUPPORTED', `${pathname} is not part of the registry API`);
  const rest = pathname.slice('/v2/'.length);
  if (rest === '_catalog') return readOnly(method, { kind: 'catalog' });
  if (/\/blobs\/uploads(\/|$)/.test(rest)) throw writeRefused();
  const tags = /^(.+)\/tags\/list$/.exec(rest);
  if (tags) return readOnly(method, { kind: 'tags', path: tags[1]! });
  const manifest = /^(.+)\/manifests\/([^/]+)$/.exec(rest);
  if (manifest) return readOnly(method, { kind: 'manifest', path: manifest[1]!, reference: manifest[2]! });
  const referrers = /^(.+)\/referrers\/([^/]+)$/.exec(rest);
  if (referrers) return readOnly(method, { kind: 'referrers', path: referrers[1]!, digest: referrers[2]! });
  const blob = /^(.+)\/blobs\/([^/]+)$/.exec(rest);
  if (blob) return readOnly(method, { kind: 'blob', path: blob[1]!, digest: blob[2]! });
  throw new OciError(404, 'UNSUPPORTED', `${pathname} is not part of the registry pull API`);
}

function readOnly(method: string, route: Route): Route {
  if (!READ_METHODS.has(method)) throw writeRefused();
  return route;
}

function writeRefused(): OciError {
  return new OciError(405, 'UNSUPPORTED', 'Layover is a read-only mirror: push to the registry itself', { allow: 'GET, HEAD' });
}
