import { OciError } from '../oci/errors.js';
import { isDigest, parseDigest } from '../oci/grammar.js';
import { mediaTypeOfManifest } from '../oci/media-types.js';
import type { BlobStore } from '../store/blob-store.js';
import { digestOf } from '../store/digest.js';
import type { MetadataIndex, TagRecord } from '../store/metadata.js';
import type { RegistryClient } from '../upstream/registry-client.js';
import { RepositoryClient } from '../upstream/repository-client.js';
import { isUpstreamOutage } from '../upstream/upstream-errors.js';

export interface Manifest {
  body: Buffer;
  digest: string;
  mediaType: string;
  /**
   * hit: from the cache without asking; revalidated: upstream confirmed the
   * cached tag; miss: fetched; stale: cached tag served because the upstream failed.
   */
  cache: 'hit' | 'revalidated' | 'miss' | 'stale';
  /** Why a stale answer was served. */
  staleReason?: string;
}

export interface ManifestRequest {
  client: RegistryClient;
  repository: string;
  /** A tag or a digest, already checked against the grammar. */
  reference: string;
}

/**
 * Manifests by tag and by digest. Digests are immutable: once stored, never
 * asked again. Tags are served from the cache inside the freshness window,
 * then revalidated with a HEAD (cheap, and not counted by Docker Hub's pull
 * limits); when the upstream is out, the cached tag is served stale.
 * Concurrent requests for one tag share one upstream round trip.
 */
export class ManifestFetcher {
  private readonly inflight = new Map<string, Promise<Manifest>>();

  constructor(
    private readonly store: BlobStore,
    private readonly metadata: MetadataIndex,
    private readonly freshnessMs: () => number,
  ) {}

  get(req: ManifestRequest): Promise<Manifest> {
    const key = `${req.client.name}/${req.repository}:${req.reference}`;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = (isDigest(req.reference) ? this.byDigest(req) : this.byTag(req)).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  private async byDigest(req: ManifestRequest): Promise<Manifest> {
    const cached = await this.fromStore(req.reference, req);
    if (cached) return { ...cached, cache: 'hit' };
    const fetched = await this.fetch(req);
    return { ...fetched, cache: 'miss' };
  }

  private async byTag(req: ManifestRequest): Promise<Manifest> {
    const record = this.metadata.getTag(req.client.name, req.repository, req.reference);
    const cached = record && (await this.fromStore(record.digest, req));
    if (record && cached && Date.now() - record.checkedAt < this.freshnessMs()) return { ...cached, cache: 'hit' };
    try {
      if (record && cached && (await this.upstreamDigest(req)) === record.digest) {
        this.metadata.setTag(req.client.name, req.repository, req.reference, { ...record, checkedAt: Date.now() });
        return { ...cached, cache: 'revalidated' };
      }
      const fetched = await this.fetch(req);
      this.remember(req, fetched);
      return { ...fetched, cache: 'miss' };
    } catch (error) {
      if (cached && isUpstreamOutage(error)) return { ...cached, cache: 'stale', staleReason: (error as Error).message };
      throw error;
    }
  }

  private remember(req: ManifestRequest, manifest: Omit<Manifest, 'cache'>): void {
    const record: TagRecord = { digest: manifest.digest, mediaType: manifest.mediaType, checkedAt: Date.now() };
    this.metadata.setTag(req.client.name, req.repository, req.reference, record);
  }

  private async fromStore(digest: string, req: ManifestRequest): Promise<Omit<Manifest, 'cache'> | undefined> {
    const record = this.metadata.getManifest(digest);
    if (!record) return undefined;
    try {
      const body = await this.store.read(digest);
      this.metadata.touch(digest, req.client.name, req.repository);
      return { body, digest, mediaType: record.mediaType };
    } catch {
      this.metadata.forget(digest); // evicted or lost: fetch again
      return undefined;
    }
  }

  /** The digest the upstream has for a tag now, by HEAD; undefined if it does not say. */
  private async upstreamDigest(req: ManifestRequest): Promise<string | undefined> {
    return (await upstreamOf(req).manifestHead(req.reference)).digest;
  }

  private async fetch(req: ManifestRequest): Promise<Omit<Manifest, 'cache'>> {
    const answer = await upstreamOf(req).manifest(req.reference);
    const body = answer.body;
    const digest = verifiedDigest(req, body, answer.declaredDigest);
    const mediaType = answer.mediaType || mediaTypeOfManifest(body);
    if (!mediaType) throw new OciError(502, 'MANIFEST_INVALID', `upstream sent ${describe(req)} without a media type`);
    await this.store.put(digest, body);
    this.metadata.setManifest(digest, { mediaType, size: body.length });
    this.metadata.touch(digest, req.client.name, req.repository);
    return { body, digest, mediaType };
  }
}

function upstreamOf(req: ManifestRequest): RepositoryClient {
  return new RepositoryClient(req.client, req.repository);
}

function describe(req: ManifestRequest): string {
  return `manifest ${req.repository}${isDigest(req.reference) ? '@' : ':'}${req.reference}`;
}

/** The manifest's digest, checked against what was asked for and what the upstream declared. */
function verifiedDigest(req: ManifestRequest, body: Buffer, declared: string | undefined): string {
  const wanted = isDigest(req.reference) ? req.reference : declared && parseDigest(declared) ? declared : undefined;
  const algorithm = wanted ? parseDigest(wanted)!.algorithm : 'sha256';
  const actual = digestOf(body, algorithm);
  if (wanted && actual !== wanted) {
    throw new OciError(502, 'MANIFEST_INVALID', `upstream ${describe(req)} does not match its digest ${wanted} (got ${actual})`);
  }
  return actual;
}
