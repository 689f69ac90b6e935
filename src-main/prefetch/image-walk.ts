import type { Platform } from '../api/types.js';
import { INDEX_MEDIA_TYPES, mediaTypeOfManifest } from '../core/oci/media-types.js';
import { formatPlatform, platformMatches } from './platforms.js';
import { PrefetchError } from './failures.js';

/** An OCI descriptor, as far as prefetch needs it. */
export interface Descriptor {
  digest: string;
  size: number;
  mediaType?: string;
  platform?: Partial<Platform>;
  urls?: string[];
}

export type ParsedManifest =
  | { kind: 'index'; manifests: Descriptor[] }
  | { kind: 'image'; config: Descriptor; layers: Descriptor[] };

/** What a tag needs for the chosen platforms. */
export interface ImageContent {
  /** Manifest digests (the tag's own, and the chosen platforms' under an index), each once. */
  manifests: string[];
  /** Configs and layers, each once, with the sizes their manifests declare. */
  blobs: Descriptor[];
  /** Manifests the loader did not have (offline walks over the store only). */
  missingManifests: string[];
}

/** A manifest by digest; undefined when the source does not have it (the store, offline). */
export type ManifestLoader = (digest: string) => Promise<{ body: Buffer; mediaType: string } | undefined>;

/** An index inside an index inside an index is as deep as real registries go. */
const MAX_DEPTH = 3;

export function parseManifest(body: Buffer, mediaType: string | undefined, what: string): ParsedManifest {
  let json: { manifests?: unknown; config?: unknown; layers?: unknown };
  try {
    json = JSON.parse(body.toString('utf8')) as typeof json;
  } catch {
    throw new PrefetchError(`${what} is not valid JSON`, 502, 'MANIFEST_INVALID');
  }
  const type = mediaType ?? mediaTypeOfManifest(body);
  if ((type && INDEX_MEDIA_TYPES.includes(type)) || Array.isArray(json.manifests)) {
    return { kind: 'index', manifests: descriptors(json.manifests, what) };
  }
  if (json.config && Array.isArray(json.layers)) {
    const [config] = descriptors([json.config], what);
    return { kind: 'image', config: config!, layers: descriptors(json.layers, what).filter(isDistributable) };
  }
  throw new PrefetchError(`${what} is a ${type ?? 'manifest'} Layover cannot prefetch (schema 1 or not an image)`, 502, 'UNSUPPORTED');
}

/**
 * Walks from a tag's manifest to what the chosen platforms need: an index is
 * descended only into the matching entries (undefined platforms: all).
 */
export async function collectImage(load: ManifestLoader, digest: string, platforms: Platform[] | undefined, what: string): Promise<ImageContent> {
  const content: ImageContent = { manifests: [], blobs: [], missingManifests: [] };
  const seenBlobs = new Set<string>();
  const visit = async (manifestDigest: string, depth: number, label: string): Promise<void> => {
    if (content.manifests.includes(manifestDigest)) return;
    const loaded = await load(manifestDigest);
    if (!loaded) {
      content.missingManifests.push(manifestDigest);
      return;
    }
    content.manifests.push(manifestDigest);
    const manifest = parseManifest(loaded.body, loaded.mediaType, label);
    if (manifest.kind === 'image') {
      for (const blob of [manifest.config, ...manifest.layers]) {
        if (seenBlobs.has(blob.digest)) continue;
        seenBlobs.add(blob.digest);
        content.blobs.push(blob);
      }
      return;
    }
    if (depth >= MAX_DEPTH) throw new PrefetchError(`${label} nests indexes deeper than ${MAX_DEPTH} levels`, 502, 'UNSUPPORTED');
    for (const entry of chooseEntries(manifest.manifests, platforms, label)) {
      await visit(entry.digest, depth + 1, `${what} (${formatPlatform(entry.platform ?? {})})`);
    }
  };
  await visit(digest, 0, what);
  return content;
}

function chooseEntries(entries: Descriptor[], platforms: Platform[] | undefined, what: string): Descriptor[] {
  if (!platforms) return entries;
  const chosen = entries.filter((entry) => platforms.some((wanted) => platformMatches(wanted, entry.platform)));
  if (chosen.length > 0) return chosen;
  const offered = entries.filter((entry) => entry.platform && entry.platform.os !== 'unknown').map((entry) => formatPlatform(entry.platform!));
  throw new PrefetchError(
    `${what} has no image for ${platforms.map(formatPlatform).join(', ')}; it offers ${offered.join(', ') || 'no platform'}: choose one of those (--platform) or all`,
    404, 'NO_MATCHING_PLATFORM',
  );
}

function descriptors(value: unknown, what: string): Descriptor[] {
  if (!Array.isArray(value)) throw new PrefetchError(`${what} lists no descriptors`, 502, 'MANIFEST_INVALID');
  return value.map((entry: Partial<Descriptor>) => {
    if (typeof entry?.digest !== 'string' || typeof entry.size !== 'number') {
      throw new PrefetchError(`${what} has a descriptor without digest or size`, 502, 'MANIFEST_INVALID');
    }
    return entry as Descriptor;
  });
}

/** Foreign (Windows base) layers live outside the registry, behind their urls: not ours to fetch. */
function isDistributable(layer: Descriptor): boolean {
  return !(layer.urls?.length || /foreign|nondistributable/.test(layer.mediaType ?? ''));
}

export function sumSizes(blobs: readonly { size: number }[]): number {
  return blobs.reduce((total, blob) => total + blob.size, 0);
}
