import type { RegistryClient } from '../upstream/registry-client.js';
import { RepositoryClient } from '../upstream/repository-client.js';
import type { BlobBytes, BlobSource, BlobWant } from './blob-source.js';

/**
 * The registry's endpoints as a blob source: the typed client's blob GET,
 * with Range from the offset already ingested. Always the last source the
 * fetcher tries, and the only one that answers with the upstream's errors
 * (not found, unauthorized, rate-limited), which the client then sees.
 */
export class UpstreamBlobSource implements BlobSource {
  readonly kind = 'upstream' as const;
  readonly name: string;

  constructor(private readonly client: RegistryClient) {
    this.name = `upstream ${client.name}`;
  }

  async open(want: BlobWant): Promise<BlobBytes> {
    const answer = await new RepositoryClient(this.client, want.repository).blob(want.digest, { offset: want.offset, signal: want.signal });
    return {
      start: answer.start,
      ...(answer.size === undefined ? {} : { size: answer.size }),
      body: answer.body,
      cancel: () => answer.body.destroy(),
      from: answer.endpoint,
      servedBy: new URL(answer.servedBy).host,
    };
  }
}
