import type { AttachmentSummary } from '../../api/types.js';
import { OciError } from '../oci/errors.js';
import { parseDigest } from '../oci/grammar.js';
import { INDEX_MEDIA_TYPES } from '../oci/media-types.js';
import { attachmentKind, cleanDescriptors, cosignTagsOf, referrersTagOf, type AttachmentKind, type ReferrerDescriptor } from '../oci/referrers.js';
import type { BlobStore } from '../store/blob-store.js';
import type { MetadataIndex, ReferrersRecord } from '../store/metadata.js';
import type { RegistryClient } from '../upstream/registry-client.js';
import type { ManifestFetcher } from './manifest-fetcher.js';
import { askUpstreamReferrers } from './referrers-upstream.js';
import { isUpstreamOutage } from '../upstream/upstream-errors.js';

export interface ReferrersRequest {
  client: RegistryClient;
  repository: string;
  /** The subject's digest, already checked against the grammar. */
  subject: string;
}

export interface Referrers {
  descriptors: ReferrerDescriptor[];
  via: ReferrersRecord['via'];
  /** As for manifests: hit, revalidated (upstream had the same list), miss (new or changed), stale (upstream out). */
  cache: 'hit' | 'revalidated' | 'miss' | 'stale';
  staleReason?: string;
}

/** What is attached to one manifest, for the Repositories page, `layover prefetch` and the only-signed policy. */
export interface Attachment {
  kind: AttachmentKind;
  /** The attached manifest. */
  digest: string;
  artifactType?: string;
  /** 'referrer': listed by the referrers API or its tag-schema index; 'cosign-tag': cosign's sha256-<hex>.sig/.att/.sbom tag. */
  via: 'referrer' | 'cosign-tag';
  /** Its manifest and every blob it lists are in the store, so it can be read offline. */
  cached: boolean;
}

/**
 * A subject's referrers (OCI 1.1), cached in the metadata index like a tag:
 * served from the cache inside the freshness window, then asked again, and
 * served stale when the upstream is out. The upstream's referrers API is
 * asked first; a registry that answers 404 (distribution 2.8, Docker Hub) is
 * read through the spec's tag-schema fallback, the `sha256-<hex>` tag
 * holding an index, fetched through the ManifestFetcher so that tag is cached
 * and revalidated with a HEAD like any other. The mirror and prefetch share this.
 */
export class ReferrersFetcher {
  private readonly inflight = new Map<string, Promise<Referrers>>();
  /** Registries seen answering 404 to the referrers API in this run: asked by tag from then on. */
  private readonly withoutApi = new Set<string>();

  constructor(
    private readonly manifests: ManifestFetcher,
    private readonly metadata: MetadataIndex,
    private readonly store: BlobStore,
    private readonly freshnessMs: () => number,
  ) {}

  get(req: ReferrersRequest): Promise<Referrers> {
    const key = `${req.client.name}/${req.repository}@${req.subject}`;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.load(req).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /** The cached list only, never asking the upstream (the policy and the dashboard read this). */
  cached(registry: string, repository: string, subject: string): ReferrersRecord | undefined {
    return this.metadata.getReferrers(registry, repository, subject);
  }

  /**
   * Everything attached to a manifest that the cache knows of, from the cache
   * alone: its cached referrers, and cosign's tags next to it.
   */
  async attachments(registry: string, repository: string, subject: string): Promise<Attachment[]> {
    const found: Attachment[] = [];
    for (const descriptor of this.cached(registry, repository, subject)?.descriptors ?? []) {
      found.push({
        kind: attachmentKind(descriptor), digest: descriptor.digest, via: 'referrer', cached: await this.isStored(descriptor.digest),
        ...(descriptor.artifactType ? { artifactType: descriptor.artifactType } : {}),
      });
    }
    for (const { tag, kind } of cosignTagsOf(subject)) {
      const record = this.metadata.getTag(registry, repository, tag);
      if (record && !found.some((attachment) => attachment.digest === record.digest)) {
        found.push({ kind, digest: record.digest, via: 'cosign-tag', cached: await this.isStored(record.digest) });
      }
    }
    return found;
  }

  /**
   * Asks the upstream (or the cache, inside the window) what is attached to
   * a manifest: its referrers, and cosign's tags next to it, whose manifests
   * are fetched and cached here so they resolve offline. Prefetch walks
   * these; each comes with its kind.
   */
  async attached(req: ReferrersRequest): Promise<Array<{ digest: string; kind: AttachmentKind }>> {
    const found = (await this.get(req)).descriptors.map((descriptor) => ({ digest: descriptor.digest, kind: attachmentKind(descriptor) }));
    for (const { tag, kind } of cosignTagsOf(req.subject)) {
      try {
        const manifest = await this.manifests.get({ client: req.client, repository: req.repository, reference: tag });
        if (!found.some((attachment) => attachment.digest === manifest.digest)) found.push({ digest: manifest.digest, kind });
      } catch (error) {
        if (error instanceof OciError && error.status === 404) continue;
        if (!isUpstreamOutage(error)) throw error;
        // Upstream out and the tag never seen: nothing to add; seen before: ManifestFetcher would have served it stale.
      }
    }
    return found;
  }

  private async load(req: ReferrersRequest): Promise<Referrers> {
    const record = this.cached(req.client.name, req.repository, req.subject);
    if (record && Date.now() - record.checkedAt < this.freshnessMs()) return { descriptors: record.descriptors, via: record.via, cache: 'hit' };
    try {
      const fetched = await this.fromUpstream(req);
      if (fetched.staleReason !== undefined) return { descriptors: fetched.descriptors, via: fetched.via, cache: 'stale', staleReason: fetched.staleReason };
      this.metadata.setReferrers(req.client.name, req.repository, req.subject, { descriptors: fetched.descriptors, via: fetched.via, checkedAt: Date.now() });
      const unchanged = record !== undefined && sameDigests(record.descriptors, fetched.descriptors);
      return { descriptors: fetched.descriptors, via: fetched.via, cache: unchanged ? 'revalidated' : 'miss' };
    } catch (error) {
      if (record && isUpstreamOutage(error)) return { descriptors: record.descriptors, via: record.via, cache: 'stale', staleReason: (error as Error).message };
      throw error;
    }
  }

  private async fromUpstream(req: ReferrersRequest): Promise<{ descriptors: ReferrerDescriptor[]; via: ReferrersRecord['via']; staleReason?: string }> {
    if (!this.withoutApi.has(req.client.name)) {
      const viaApi = await askUpstreamReferrers(req.client, req.repository, req.subject);
      if (viaApi) return { descriptors: viaApi, via: 'api' };
      this.withoutApi.add(req.client.name);
    }
    return { ...(await this.fromTagSchema(req)), via: 'tag-schema' };
  }

  /** The spec's fallback: the `<alg>-<hex>` tag holds an index of the referrers; no such tag means none. */
  private async fromTagSchema(req: ReferrersRequest): Promise<{ descriptors: ReferrerDescriptor[]; staleReason?: string }> {
    let index;
    try {
      index = await this.manifests.get({ client: req.client, repository: req.repository, reference: referrersTagOf(req.subject) });
    } catch (error) {
      if (error instanceof OciError && error.status === 404) return { descriptors: [] };
      throw error;
    }
    if (!INDEX_MEDIA_TYPES.includes(index.mediaType)) return { descriptors: [] }; // not the fallback's index: someone's own tag
    let parsed: { manifests?: unknown };
    try {
      parsed = JSON.parse(index.body.toString('utf8')) as typeof parsed;
    } catch {
      return { descriptors: [] };
    }
    const descriptors = cleanDescriptors(parsed.manifests, (digest) => parseDigest(digest) !== undefined);
    return { descriptors, ...(index.cache === 'stale' ? { staleReason: index.staleReason ?? 'upstream unavailable' } : {}) };
  }

  /** The manifest and every blob it lists are in the store. */
  private async isStored(digest: string): Promise<boolean> {
    if (!this.metadata.getManifest(digest)) return false;
    try {
      const manifest = JSON.parse((await this.store.read(digest)).toString('utf8')) as { config?: { digest?: unknown }; layers?: Array<{ digest?: unknown }>; manifests?: unknown };
      const blobs = [manifest.config, ...(manifest.layers ?? [])].map((entry) => entry?.digest).filter((value): value is string => typeof value === 'string');
      for (const blob of blobs) if ((await this.store.sizeOf(blob)) === undefined) return false;
      return true;
    } catch {
      return false;
    }
  }
}

/** Counts by kind, as the Repositories page and `layover prefetch` show them. */
export function summarizeAttachments(attachments: readonly Attachment[]): AttachmentSummary {
  const count = (kind: AttachmentKind) => attachments.filter((attachment) => attachment.kind === kind).length;
  return {
    signatures: count('signature'), attestations: count('attestation'), sboms: count('sbom'), other: count('other'),
    cached: attachments.filter((attachment) => attachment.cached).length,
  };
}

function sameDigests(a: readonly ReferrerDescriptor[], b: readonly ReferrerDescriptor[]): boolean {
  return a.length === b.length && a.every((descriptor, index) => descriptor.digest === b[index]!.digest);
}
