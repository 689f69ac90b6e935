import { parseDigest } from '../oci/grammar.js';
import { cleanDescriptors, type ReferrerDescriptor } from '../oci/referrers.js';
import type { RegistryClient } from '../upstream/registry-client.js';
import { RepositoryClient } from '../upstream/repository-client.js';

/**
 * The upstream's referrers API, as the referrers cache needs it: core/upstream's
 * typed client asks (all pages, 404 = no API), and only well-formed
 * descriptors, each digest once, come back.
 */
export async function askUpstreamReferrers(client: RegistryClient, repository: string, subject: string): Promise<ReferrerDescriptor[] | undefined> {
  const answer = await new RepositoryClient(client, repository).referrers(subject);
  if (!answer.supported) return undefined; // the tag-schema fallback applies
  return cleanDescriptors(answer.manifests, (digest) => parseDigest(digest) !== undefined);
}
