import type { Platform } from '../api/types.js';
import type { RegistryClient } from '../core/upstream/registry-client.js';
import { RepositoryClient, type ManifestHead } from '../core/upstream/repository-client.js';
import { isUpstreamOutage } from '../core/upstream/upstream-errors.js';
import { collectImage, sumSizes, type Descriptor, type ImageContent, type ManifestLoader } from './image-walk.js';
import { PrefetchError } from './failures.js';
import { OciError } from '../core/oci/errors.js';
import type { ReferrersRequest } from '../core/fetch/referrers.js';
import type { PrefetchCore } from './prefetch-core.js';

/** Where one tag points now. */
export interface ResolvedTag {
  tag: string;
  digest: string;
  mediaType: string;
  /** False when the upstream could not be asked and the cached tag was used (stale-if-error). */
  checked: boolean;
}

/** What a prefetch will transfer, known before the first byte moves. */
export interface Plan {
  tags: ResolvedTag[];
  manifests: string[];
  /** Every config and layer the tags need for the chosen platforms, each once. */
  blobs: Descriptor[];
  /** Those the store does not hold yet. */
  missing: Descriptor[];
  totalBytes: number;
  missingBytes: number;
  /** Signatures, attestations and SBOMs found attached to the tags (their manifests and blobs are in the plan). */
  attachments: number;
}

export interface PlanRequest {
  client: RegistryClient;
  repository: string;
  tags: string[];
  /** undefined: every platform of an index. */
  platforms: Platform[] | undefined;
  /** Take along what is attached to each tag's manifest: referrers and cosign's tags (a rule's `referrers`, on by default). */
  attachments?: boolean;
  /** Told about every tag checked upstream (or not), for its sync state. */
  onChecked?: (tag: string, outcome: { digest?: string; error?: unknown }) => void;
  signal?: AbortSignal;
}

/**
 * Tags -> manifests (through the core's ManifestFetcher, so they are
 * verified and stored) -> the chosen platforms under an index -> configs and
 * layers -> what the store lacks. Each tag is checked with a HEAD, which is
 * cheap and not counted against Docker Hub's pull limit.
 */
export async function planPrefetch(core: PrefetchCore, request: PlanRequest): Promise<Plan> {
  const { client, repository } = request;
  const load: ManifestLoader = async (digest) => core.manifests.get({ client, repository, reference: digest });
  const tags: ResolvedTag[] = [];
  const manifests = new Set<string>();
  const blobs = new Map<string, Descriptor>();
  let attachments = 0;
  for (const tag of request.tags) {
    request.signal?.throwIfAborted();
    const resolved = await resolveTag(core, client, repository, tag, request.onChecked);
    tags.push(resolved);
    const content = await collectImage(load, resolved.digest, request.platforms, `${repository}:${tag}`);
    for (const digest of content.manifests) manifests.add(digest);
    for (const blob of content.blobs) blobs.set(blob.digest, blob);
    if (request.attachments !== false) {
      for (const attached of await collectAttachments(core, load, { client, repository, subject: resolved.digest }, `${repository}:${tag}`)) {
        attachments++;
        for (const digest of attached.manifests) manifests.add(digest);
        for (const blob of attached.blobs) blobs.set(blob.digest, blob);
      }
    }
  }
  const missing: Descriptor[] = [];
  for (const blob of blobs.values()) {
    if ((await core.store.sizeOf(blob.digest)) === undefined) missing.push(blob);
  }
  const all = [...blobs.values()];
  return { tags, manifests: [...manifests], blobs: all, missing, totalBytes: sumSizes(all), missingBytes: sumSizes(missing), attachments };
}

/**
 * What is attached to a tag's manifest (core/fetch/referrers.ts), walked like
 * an image. With the upstream out and nothing cached, or an attachment that
 * is not an image-shaped manifest, the tag is still prefetched without it.
 */
async function collectAttachments(core: PrefetchCore, load: ManifestLoader, subject: ReferrersRequest, what: string): Promise<ImageContent[]> {
  let attached;
  try {
    attached = await core.referrers.attached(subject);
  } catch (error) {
    if (isUpstreamOutage(error)) return [];
    throw error;
  }
  const contents: ImageContent[] = [];
  for (const { digest, kind } of attached) {
    try {
      contents.push(await collectImage(load, digest, undefined, `${what} ${kind} ${digest}`));
    } catch (error) {
      const skippable = error instanceof PrefetchError || isUpstreamOutage(error) || (error instanceof OciError && error.status === 404);
      if (!skippable) throw error;
    }
  }
  return contents;
}

/** The digest a tag has upstream now; the cached one when the upstream is out. */
async function resolveTag(core: PrefetchCore, client: RegistryClient, repository: string, tag: string, onChecked: PlanRequest['onChecked']): Promise<ResolvedTag> {
  try {
    const resolved = await headTag(core, client, repository, tag);
    onChecked?.(tag, { digest: resolved.digest });
    return resolved;
  } catch (error) {
    onChecked?.(tag, { error });
    const cached = core.metadata.getTag(client.name, repository, tag);
    if (cached && isUpstreamOutage(error)) return { tag, digest: cached.digest, mediaType: cached.mediaType, checked: false };
    throw error;
  }
}

async function headTag(core: PrefetchCore, client: RegistryClient, repository: string, tag: string): Promise<ResolvedTag> {
  const upstream = await upstreamTagDigest(client, repository, tag);
  if (upstream.digest) return { tag, digest: upstream.digest, mediaType: upstream.mediaType, checked: true };
  // A registry that does not say the digest on HEAD: the GET tells it (and stores the manifest).
  const manifest = await core.manifests.get({ client, repository, reference: tag });
  return { tag, digest: manifest.digest, mediaType: manifest.mediaType, checked: true };
}

/** The upstream's digest for a tag, by HEAD (the typed client's, as the mirror's revalidation asks it). */
export function upstreamTagDigest(client: RegistryClient, repository: string, tag: string): Promise<ManifestHead> {
  return new RepositoryClient(client, repository).manifestHead(tag);
}

/**
 * Points the cached tags at what was prefetched, once every blob is in: a
 * pull during the transfer sees the old image or the new one, never half.
 */
export function commitTags(core: PrefetchCore, registry: string, repository: string, tags: ResolvedTag[], now: number): void {
  for (const resolved of tags) {
    const mediaType = core.metadata.getManifest(resolved.digest)?.mediaType ?? resolved.mediaType;
    const checkedAt = resolved.checked ? now : core.metadata.getTag(registry, repository, resolved.tag)?.checkedAt ?? 0;
    core.metadata.setTag(registry, repository, resolved.tag, { digest: resolved.digest, mediaType, checkedAt });
  }
}
