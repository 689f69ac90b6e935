import type { BundleTask, LayoverEvent, Platform, PrefetchRule, Settings, TagSelector } from '../api/types.js';
import type { BlobFetcher } from '../core/fetch/blob-fetcher.js';
import type { ManifestFetcher } from '../core/fetch/manifest-fetcher.js';
import type { TagLister } from '../core/fetch/tag-lister.js';
import type { RegistryRouter } from '../core/routing/registry-routing.js';
import type { BlobStore } from '../core/store/blob-store.js';
import type { MetadataIndex } from '../core/store/metadata.js';

/**
 * The parts of LayoverCore bundles build on. `router` and `settings` are
 * read at each use: a settings change replaces them while Layover runs.
 */
export interface BundleCore {
  readonly store: BlobStore;
  readonly metadata: MetadataIndex;
  readonly blobs: BlobFetcher;
  readonly manifests: ManifestFetcher;
  readonly tags: TagLister;
  readonly router: RegistryRouter;
  readonly settings: Settings;
  readonly options: { dataDir: string };
  publish?(event: LayoverEvent): void;
}

/** A config or layer as a manifest declares it. */
export interface BundleDescriptor {
  digest: string;
  size: number;
  mediaType?: string;
}

export type ManifestLoader = (digest: string) => Promise<{ body: Buffer; mediaType: string } | undefined>;

/**
 * What a selection means is prefetch's vocabulary (its tag selectors, its
 * walk from a tag to the chosen platforms' layers, its rules' pins): app
 * hands it in, so there is one selector and one walk, and the feature rooms
 * do not import each other.
 */
export interface SelectionVocabulary {
  selectTags(tags: readonly string[], selector: TagSelector): string[];
  collectImage(load: ManifestLoader, digest: string, platforms: Platform[] | undefined, what: string): Promise<{ manifests: string[]; blobs: BundleDescriptor[]; missingManifests: string[] }>;
  platformsOf(choice: PrefetchRule['platforms']): Platform[] | undefined;
  isRepositoryGlob(repository: string): boolean;
}

export type TaskProgress = (change: Partial<Pick<BundleTask, 'step' | 'bytesDone' | 'bytesTotal' | 'blobsDone' | 'blobsTotal'>>) => void;
