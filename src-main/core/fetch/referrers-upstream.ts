import { OciError } from '../oci/errors.js';
import { parseDigest } from '../oci/grammar.js';
import { cleanDescriptors, type ReferrerDescriptor } from '../oci/referrers.js';
import { MAX_MANIFEST_BYTES, MediaType } from '../oci/media-types.js';
import { headerValue, type RegistryClient } from '../upstream/registry-client.js';
import { nextPageQuery } from './tag-lister.js';
import { errorForUpstreamFailure, errorForUpstreamStatus } from './upstream-errors.js';

/**
 * The upstream's referrers API, in one small adapter: the only place the
 * referrers cache talks HTTP to a registry, so moving to core/upstream's
 * typed client is one edit here.
 */

/** A referrer list longer than this many pages is not something a cache should walk. */
const MAX_UPSTREAM_PAGES = 20;

/** undefined: the upstream has no referrers API (it answered 404), so the tag-schema fallback applies. */
export async function askUpstreamReferrers(client: RegistryClient, repository: string, subject: string): Promise<ReferrerDescriptor[] | undefined> {
  const what = `referrers of ${repository}@${subject}`;
  const descriptors: ReferrerDescriptor[] = [];
  let query: Record<string, string> | undefined = {};
  for (let page = 0; query && page < MAX_UPSTREAM_PAGES; page++) {
    let response;
    try {
      response = await client.request({
        method: 'GET', path: `/v2/${repository}/referrers/${subject}`, query,
        headers: { accept: MediaType.ociIndex }, scope: `repository:${repository}:pull`,
      });
    } catch (error) {
      throw errorForUpstreamFailure(error, what);
    }
    if (response.status === 404 && page === 0) {
      await response.body.dump();
      return undefined;
    }
    if (response.status !== 200) {
      await response.body.dump();
      throw errorForUpstreamStatus(response, 'manifest', what);
    }
    const text = await response.body.text();
    if (text.length > MAX_MANIFEST_BYTES) throw new OciError(502, 'MANIFEST_INVALID', `upstream ${what} exceeds the manifest size limit`);
    let index: { manifests?: unknown };
    try {
      index = JSON.parse(text) as typeof index;
    } catch {
      throw new OciError(502, 'MANIFEST_INVALID', `upstream answered ${what} with something that is not an OCI index`);
    }
    descriptors.push(...cleanDescriptors(index.manifests, (digest) => parseDigest(digest) !== undefined));
    query = nextPageQuery(headerValue(response.headers.link));
  }
  return descriptors;
}
