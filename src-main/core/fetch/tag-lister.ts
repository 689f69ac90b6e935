import { compareLexically } from '../oci/pagination.js';
import type { MetadataIndex } from '../store/metadata.js';
import type { RegistryClient } from '../upstream/registry-client.js';
import { RepositoryClient } from '../upstream/repository-client.js';
import { isUpstreamOutage } from '../upstream/upstream-errors.js';

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
      const tags = (await new RepositoryClient(client, repository).tags()).sort(compareLexically);
      this.metadata.setTagList(client.name, repository, tags, Date.now());
      return { tags, stale: false };
    } catch (error) {
      if (cached && isUpstreamOutage(error)) return { tags: cached.tags, stale: true };
      throw error;
    }
  }
}
