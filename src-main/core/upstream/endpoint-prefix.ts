/**
 * The repository prefix of an endpoint: a Harbor / MSR 4 proxy-cache project
 * serves the origin's `library/alpine` as `hub-proxy/library/alpine`. The
 * prefix belongs to one endpoint only, so the same request reaches the cache
 * under the project's name and the origin under its own, and failover needs
 * no second set of names.
 */
import { isValidName } from '../oci/grammar.js';

/** '' (none) or "project/" with exactly one trailing slash, e.g. "hub-proxy/". */
export function normalizeRepositoryPrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  if (!isValidName(trimmed)) {
    throw new Error(`repository prefix "${prefix}" is not a repository path (lowercase letters, digits, separators . _ - and /)`);
  }
  return `${trimmed}/`;
}

/** The name the endpoint knows a repository by: where an endpoint's repository name is computed, and only here. */
export function repositoryOnEndpoint(prefix: string, repository: string): string {
  return prefix + repository;
}

/** Repository-scoped API paths: manifests, blobs, referrers by reference, and the tag list. */
const REPOSITORY_PATH = /^\/v2\/(.+)\/(manifests|blobs|referrers)\/([^/]+)$|^\/v2\/(.+)\/(tags\/list)$/;

/** The repository a /v2 path is about, or undefined for /v2/ and the catalog. */
export function repositoryOfPath(path: string): string | undefined {
  const match = REPOSITORY_PATH.exec(path);
  return match ? (match[1] ?? match[4]) : undefined;
}

/**
 * The path and token scope as this endpoint must see them. Only the repository
 * part changes: the rest of the path, the query and the actions stay.
 */
export function onEndpoint<T extends { path: string; scope?: string; repository?: string }>(prefix: string, req: T): T {
  if (prefix === '') return req;
  const repository = req.repository ?? repositoryOfPath(req.path);
  if (repository === undefined) return req;
  const prefixed = repositoryOnEndpoint(prefix, repository);
  const pathHead = `/v2/${repository}/`;
  const path = req.path.startsWith(pathHead) ? `/v2/${prefixed}/${req.path.slice(pathHead.length)}` : req.path;
  const scopeHead = `repository:${repository}:`;
  const scope = req.scope?.startsWith(scopeHead) ? `repository:${prefixed}:${req.scope.slice(scopeHead.length)}` : req.scope;
  return { ...req, path, ...(scope === undefined ? {} : { scope }) };
}

/**
 * `https://msr-fra.example.com/hub-proxy/` as the command line writes it: the
 * registry's address and the prefix under it. Registries serve the API at
 * /v2/ of their root, so a path after the host can only be a project.
 */
export function splitEndpointUrl(value: string): { url: string; repositoryPrefix?: string } {
  const url = new URL(value);
  const prefix = normalizeRepositoryPrefix(decodeURIComponent(url.pathname));
  return prefix ? { url: url.origin, repositoryPrefix: prefix } : { url: value };
}
