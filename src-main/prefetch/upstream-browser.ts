import type { RepositoryEntry, RepositoryPage } from '../api/types.js';
import { OciError } from '../core/oci/errors.js';
import { isValidName } from '../core/oci/grammar.js';
import { compareLexically } from '../core/oci/pagination.js';
import { headerValue, type RegistryClient, type UpstreamResponse } from '../core/upstream/registry-client.js';
import { catalogPage } from '../core/upstream/repository-client.js';
import { errorForUpstreamFailure, errorForUpstreamStatus, isUpstreamOutage } from '../core/upstream/upstream-errors.js';
import { PrefetchError } from './failures.js';
import { clientFor, resolveRepository, type PrefetchCore } from './prefetch-core.js';

type UpstreamSource = 'catalog' | 'dtr';

/** Where the next page starts, per source: the catalog's Link query, or DTR's X-Next-Page-Start. */
interface Cursor {
  source: UpstreamSource;
  next: string;
}

interface UpstreamPage {
  names: string[];
  next?: string;
}

const PAGE_SIZE = 100;
/** A filtered listing reads at most this many upstream pages to fill one page of matches. */
const MAX_PAGES_PER_CALL = 10;
/** Expanding a repository glob reads at most this many pages (10 000 repositories at the default size). */
const MAX_PAGES_FOR_GLOB = 100;

/**
 * Browsing an upstream registry: DTR's repositories API when the registry is
 * a DTR (its /v2/_catalog can be incomplete), else the catalog with the
 * registry:catalog:* scope; what the cache holds when neither answers (the
 * upstream is out, or it offers no catalog, as Docker Hub does). A typed
 * repository name always appears, so it can be prefetched whatever the listing says.
 */
export class UpstreamBrowser {
  /** Registry name -> whether it answered DTR's API (asked once per run). */
  private readonly isDtr = new Map<string, boolean>();

  constructor(private readonly core: PrefetchCore, private readonly pageSize = PAGE_SIZE) {}

  async listRepositories(args: { registry: string; query?: string; cursor?: string }): Promise<RepositoryPage> {
    const client = clientFor(this.core, args.registry);
    const query = args.query?.trim().toLowerCase() ?? '';
    const cursor = args.cursor ? decodeCursor(args.cursor) : undefined; // a bad cursor is the caller's mistake, not the upstream's
    let page: { source: UpstreamSource; names: string[]; next?: string };
    try {
      page = await this.filteredPage(client, query, cursor);
    } catch (error) {
      if (!upstreamCannotList(error)) throw error;
      const cached = this.withTyped(client, this.cachedNames(client.name, query), args);
      return { registry: client.name, repositories: cached.map((name) => this.entry(client.name, name)), source: 'cache' };
    }
    const names = args.cursor ? page.names : this.withTyped(client, page.names, args);
    return {
      registry: client.name,
      repositories: names.map((name) => this.entry(client.name, name)),
      source: page.source,
      ...(page.next ? { next: encodeCursor({ source: page.source, next: page.next }) } : {}),
    };
  }

  /** Every upstream repository (for a rule's repository glob); the cached ones when the upstream cannot list. */
  async allRepositories(registry: string): Promise<string[]> {
    const client = clientFor(this.core, registry);
    try {
      const source = await this.sourceOf(client);
      const names: string[] = [];
      let next: string | undefined;
      for (let pages = 0; pages < MAX_PAGES_FOR_GLOB; pages++) {
        const page = await this.fetchPage(client, source, next);
        names.push(...page.names);
        if (!(next = page.next)) break;
      }
      return names;
    } catch (error) {
      if (!upstreamCannotList(error)) throw error;
      return this.cachedNames(client.name, '');
    }
  }

  private async filteredPage(client: RegistryClient, query: string, cursor: Cursor | undefined) {
    const source = cursor?.source ?? (await this.sourceOf(client));
    const names: string[] = [];
    let next = cursor?.next;
    for (let pages = 0; pages < MAX_PAGES_PER_CALL && names.length < this.pageSize; pages++) {
      const page = await this.fetchPage(client, source, next);
      names.push(...page.names.filter((name) => name.toLowerCase().includes(query)));
      if (!(next = page.next)) break;
    }
    return { source, names, ...(next ? { next } : {}) };
  }

  private fetchPage(client: RegistryClient, source: UpstreamSource, next: string | undefined): Promise<UpstreamPage> {
    return source === 'dtr' ? this.dtrPage(client, next) : this.catalogPage(client, next);
  }

  private async sourceOf(client: RegistryClient): Promise<UpstreamSource> {
    let dtr = this.isDtr.get(client.name);
    if (dtr === undefined) {
      dtr = await this.dtrPage(client, undefined, 1).then(() => true, (error: unknown) => {
        if (isUpstreamOutage(error)) throw error; // no answer is not a "no": ask again next time
        return false;
      });
      this.isDtr.set(client.name, dtr);
    }
    return dtr ? 'dtr' : 'catalog';
  }

  private async catalogPage(client: RegistryClient, next: string | undefined): Promise<UpstreamPage> {
    const query = next ? Object.fromEntries(new URLSearchParams(next)) : { n: String(this.pageSize) };
    const page = await catalogPage(client, query);
    return { names: page.repositories, ...(page.next ? { next: new URLSearchParams(page.next).toString() } : {}) };
  }

  /** DTR's API: /api/v0/repositories?pageSize=N&pageStart=X, the next start in X-Next-Page-Start. */
  private async dtrPage(client: RegistryClient, pageStart: string | undefined, pageSize = this.pageSize): Promise<UpstreamPage> {
    const query: Record<string, string> = { pageSize: String(pageSize), count: 'false', ...(pageStart ? { pageStart } : {}) };
    const response = await askDtr(client, query, "DTR's repository list");
    const body = (await response.body.json().catch(() => undefined)) as { repositories?: Array<{ namespace?: string; name?: string }> } | undefined;
    // An answer about this registry, not an outage: it is simply not a DTR.
    if (!Array.isArray(body?.repositories)) throw new OciError(404, 'NAME_UNKNOWN', `${client.name} is not a DTR`);
    const next = headerValue(response.headers['x-next-page-start']);
    const names = body.repositories.flatMap(({ namespace, name }) => (namespace && name ? [`${namespace}/${name}`] : []));
    return { names, ...(next ? { next } : {}) };
  }

  private cachedNames(registry: string, query: string): string[] {
    return this.core.metadata.repositories()
      .filter((entry) => entry.registry === registry && entry.repository.toLowerCase().includes(query))
      .map((entry) => entry.repository)
      .sort(compareLexically);
  }

  /** Puts a typed repository name first when the listing does not have it: it always works. */
  private withTyped(client: RegistryClient, names: string[], args: { query?: string }): string[] {
    const typed = args.query?.trim();
    if (!typed) return names;
    let name: string | undefined;
    try {
      name = resolveRepository(this.core, typed, client.name).repository;
    } catch {
      name = undefined;
    }
    return name && isValidName(name) && !names.includes(name) ? [name, ...names] : names;
  }

  private entry(registry: string, name: string): RepositoryEntry {
    const cachedTags = Object.keys(this.core.metadata.repository(registry, name)?.tags ?? {}).length;
    return { name, cached: cachedTags > 0, cachedTags };
  }
}

/** DTR's own API, beside /v2: not a registry API the typed repository client speaks. */
async function askDtr(client: RegistryClient, query: Record<string, string>, what: string): Promise<UpstreamResponse> {
  let response: UpstreamResponse;
  try {
    response = await client.request({ method: 'GET', path: '/api/v0/repositories', query });
  } catch (error) {
    throw errorForUpstreamFailure(error, what);
  }
  if (response.status !== 200) {
    await response.body.dump();
    throw errorForUpstreamStatus(response, 'repository', what);
  }
  return response;
}

/** Out, or no catalog for us (Docker Hub answers 401/404 to _catalog): the cache's list is the honest answer. */
function upstreamCannotList(error: unknown): boolean {
  return isUpstreamOutage(error) || (error instanceof OciError && [401, 403, 404].includes(error.status));
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(text: string): Cursor {
  try {
    const cursor = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Cursor;
    if ((cursor.source === 'catalog' || cursor.source === 'dtr') && typeof cursor.next === 'string') return cursor;
  } catch {
    // reported below
  }
  throw new PrefetchError('this page cursor is not one Layover gave out: start the listing again', 400, 'BAD_CURSOR');
}
