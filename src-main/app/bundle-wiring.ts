import { createBundleApi, type BundleApi } from '../bundles/bundle-service.js';
import { collectImage } from '../prefetch/image-walk.js';
import { platformsOf } from '../prefetch/platforms.js';
import { isRepositoryGlob } from '../prefetch/rule-pins.js';
import { selectTags } from '../prefetch/tag-selectors.js';
import type { LayoverCore } from './layover.js';

/**
 * Courier bundles, wired to the core: a selection means what it means to
 * prefetch (its selectors and its walk from a tag to the platforms' layers),
 * and imported content is pinned in the core's pin book, which the quota reads.
 */
export function createBundleFeature(core: LayoverCore): BundleApi {
  return createBundleApi(core, {
    vocabulary: { selectTags, collectImage, platformsOf, isRepositoryGlob },
    pin: (digests, until, reason) => core.pins.pin({ digests, until, reason }),
  });
}
