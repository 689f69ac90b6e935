import type { LayoverEvent, Settings } from '../api/types.js';
import type { BlobFetcher } from '../core/fetch/blob-fetcher.js';
import type { ManifestFetcher } from '../core/fetch/manifest-fetcher.js';
import type { TagLister } from '../core/fetch/tag-lister.js';
import type { ReferrersFetcher } from '../core/fetch/referrers.js';
import type { BandwidthBudget } from '../core/upstream/bandwidth.js';
import type { BlobStore } from '../core/store/blob-store.js';
import type { MetadataIndex } from '../core/store/metadata.js';
import type { Telemetry } from '../core/telemetry/telemetry.js';
import type { RegistryClient } from '../core/upstream/registry-client.js';
import type { RegistryRouter } from '../core/routing/registry-routing.js';
import { PrefetchError } from './failures.js';
import type { ManifestLoader } from './image-walk.js';

/**
 * The parts of LayoverCore prefetch builds on. `router` and `settings` are
 * read at each use: a settings change replaces them while Layover runs.
 */
export interface PrefetchCore {
  readonly store: BlobStore;
  readonly metadata: MetadataIndex;
  readonly blobs: BlobFetcher;
  readonly manifests: ManifestFetcher;
  readonly tags: TagLister;
  /** Signatures, attestations and SBOMs attached to a manifest (OCI 1.1 referrers and cosign's tags). */
  readonly referrers: ReferrersFetcher;
  readonly telemetry: Telemetry;
  /** The one budget for the upstream link, which every fetched byte is paced through. */
  readonly bandwidth: BandwidthBudget;
  readonly router: RegistryRouter;
  readonly settings: Settings;
  /** Sends an event to the API's subscribers (LayoverCore.publish): job progress reaches the dashboard this way. */
  publish?(event: LayoverEvent): void;
}

/** The upstream client for a registry by name, or a reason a person can act on. */
export function clientFor(core: PrefetchCore, registry: string): RegistryClient {
  const client = core.router.find(registry);
  if (!client) throw new PrefetchError(`registry ${registry} is not configured in Layover: add it in Settings → Registries`, 404, 'NAME_UNKNOWN');
  return client;
}

/**
 * A repository as the person typed it ("alpine", "dtr.example.com/eng/app")
 * resolved the way the mirror resolves pull requests: registry by name or
 * prefix, and library/ for Docker Hub's official images.
 */
export function resolveRepository(core: PrefetchCore, repository: string, registry?: string): { client: RegistryClient; repository: string } {
  if (registry) clientFor(core, registry);
  try {
    return core.router.resolve(repository, registry ?? null);
  } catch (error) {
    throw new PrefetchError((error as Error).message, 400, 'NAME_INVALID');
  }
}

/** Manifests from the store only: what the cache holds, with no upstream request. */
export function storeManifestLoader(core: PrefetchCore): ManifestLoader {
  return async (digest) => {
    const record = core.metadata.getManifest(digest);
    if (!record) return undefined;
    try {
      return { body: await core.store.read(digest), mediaType: record.mediaType };
    } catch {
      return undefined; // evicted or lost
    }
  };
}
