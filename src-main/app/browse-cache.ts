import { MAX_PAGE_SIZE, type CachedRepositoryPage, type RequestPage, type RequestRecord } from '../api/types.js';
import type { MetadataIndex } from '../core/store/metadata.js';

/**
 * The dashboard's lists at the size of a year-old office cache (issue 13,
 * part 7): searched and paged here, in the core, so a page costs the same
 * with 20 or 2,000 repositories and the browser never holds more than a page.
 */

const DEFAULT_PAGE_SIZE = 50;
/** Longer searches are not names: refused rather than scanned for. */
const MAX_QUERY_LENGTH = 256;

export class BadPageRequestError extends Error {
  readonly status = 400;
  readonly code = 'BAD_REQUEST';
}

export function listCachedRepositories(metadata: MetadataIndex, args: { registry?: string; query?: string; cursor?: string; limit?: number } = {}): CachedRepositoryPage {
  const limit = pageSize(args.limit);
  const query = searchText(args.query);
  const after = args.cursor === undefined ? undefined : decodeCursor(args.cursor);
  const page = metadata.repositoryPage({ limit, ...(args.registry ? { registry: args.registry } : {}), ...(query ? { query } : {}), ...(after !== undefined ? { after } : {}) });
  return {
    repositories: page.repositories.map(({ registry, repository, cachedTags, lastAccess }) => ({ registry, name: repository, cachedTags, lastAccess })),
    ...(page.next !== undefined ? { next: encodeCursor(page.next) } : {}),
    total: metadata.repositoryCount(),
  };
}

/** Newest first; `recent` is what telemetry keeps (the last few hundred requests), newest first. */
export function listRequests(recent: RequestRecord[], args: { query?: string; kind?: 'all' | 'manifests' | 'errors'; cursor?: string; limit?: number } = {}): RequestPage {
  const limit = pageSize(args.limit);
  const query = searchText(args.query)?.toLowerCase();
  const kind = args.kind ?? 'all';
  if (!['all', 'manifests', 'errors'].includes(kind)) throw new BadPageRequestError(`kind must be all, manifests or errors, not "${String(kind)}"`);
  const afterId = args.cursor === undefined ? undefined : decodeCursor(args.cursor);
  let start = 0;
  if (afterId !== undefined) {
    const index = recent.findIndex((request) => request.id === afterId);
    // The request the cursor names has aged out of the recent list: there is nothing older left to show.
    if (index === -1) return { requests: [] };
    start = index + 1;
  }
  const matches: RequestRecord[] = [];
  for (let i = start; i < recent.length; i++) {
    const request = recent[i]!;
    if (!ofKind(request, kind) || (query && !describe(request).includes(query))) continue;
    if (matches.length === limit) return { requests: matches, next: encodeCursor(matches.at(-1)!.id) };
    matches.push(request);
  }
  return { requests: matches };
}

function ofKind(request: RequestRecord, kind: 'all' | 'manifests' | 'errors'): boolean {
  if (kind === 'manifests') return request.kind === 'manifest';
  if (kind === 'errors') return request.status >= 400 || Boolean(request.error);
  return true;
}

/** What a search over requests looks in: the image, its reference, the client and the status. */
function describe(request: RequestRecord): string {
  return `${request.registry}/${request.repository ?? ''}:${request.reference ?? ''} ${request.client} ${request.status} ${request.kind}`.toLowerCase();
}

function pageSize(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) throw new BadPageRequestError(`limit must be a whole number from 1 to ${MAX_PAGE_SIZE}, not ${String(limit)}`);
  return limit;
}

function searchText(query: string | undefined): string | undefined {
  if (query === undefined) return undefined;
  if (typeof query !== 'string' || query.length > MAX_QUERY_LENGTH) throw new BadPageRequestError(`a search is text of at most ${MAX_QUERY_LENGTH} characters`);
  return query.trim() || undefined;
}

/** Cursors are opaque to clients: the key to continue after, base64url-encoded. */
function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  if (typeof cursor !== 'string' || !/^[A-Za-z0-9_-]{1,2048}$/.test(cursor)) throw new BadPageRequestError('the cursor is not one this Layover handed out');
  return Buffer.from(cursor, 'base64url').toString('utf8');
}
