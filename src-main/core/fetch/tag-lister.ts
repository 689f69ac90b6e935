import { compareLexically } from '../oci/pagination.js';
import type { MetadataIndex } from '../store/metadata.js';
import { headerValue, type RegistryClient } from '../upstream/registry-client.js';
import { errorForUpstreamFailure, errorForUpstreamStatus, isUpstreamOutage } from './upstream-errors.js';

const UPSTREAM_PAGE_SIZE = 1000;
/** A repository with more pages than this is a catalogue, not something a mirror should walk. */
const MAX_UPSTREAM_PAGES = 100;

export interface TagList {
  tags: string[];
  /** True when the upstream failed and the cached list was served. */
  stale: boolean;
}

/**
 * A repository's full tag list, fetched from the upstream (all pages), kept in
 * the metadata index so `tags/list` still answers offline, and refreshed after
 * the same freshness window as tags.
 */
export class TagLister {
  constructor(private readonly metadata: MetadataIndex, private readonly freshnessMs: () => number) {}

  async list(client: RegistryClient, repository: string): Promise<TagList> {
    const cached = this.metadata.getTagList(client.name, repository);
    if (cached && Date.now() - cached.fetchedAt < this.freshnessMs()) return { tags: cached.tags, stale: false };
    try {
      const tags = (await this.fetchAll(client, repository)).sort(compareLexically);
      this.metadata.setTagList(client.name, repository, tags, Date.now());
      return { tags, stale: false };
    } catch (error) {
      if (cached && isUpstreamOutage(error)) return { tags: cached.tags, stale: true };
      throw error;
    }
  }

  private async fetchAll(client: RegistryClient, repository: string): Promise<string[]> {
    const what = `tags of ${repository}`;
    const tags: string[] = [];
    let query: Record<string, string> | undefined = { n: String(UPSTREAM_PAGE_SIZE) };
    for (let page = 0; query && page < MAX_UPSTREAM_PAGES; page++) {
      let response;
      try {
        response = await client.request({ method: 'GET', path: `/v2/${repository}/tags/list`, query, scope: `repository:${repository}:pull` });
      } catch (error) {
        throw errorForUpstreamFailure(error, what);
      }
      if (response.status !== 200) {
        await response.body.dump();
        throw errorForUpstreamStatus(response, 'repository', what);
      }
      const body = (await response.body.json()) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      query = nextPageQuery(headerValue(response.headers.link));
    }
    return [...new Set(tags)];
  }
}

/** The query of a Link: <...>; rel="next" header, as the spec paginates. */
export function nextPageQuery(link: string | undefined): Record<string, string> | undefined {
  const match = link && /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
  if (!match) return undefined;
  const url = new URL(match[1]!, 'http://upstream.invalid');
  return Object.fromEntries(url.searchParams.entries());
}
