/** Manifest media types the mirror understands, and how it asks upstreams for them. */
export const MediaType = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

export const MANIFEST_MEDIA_TYPES: readonly string[] = Object.values(MediaType);
export const INDEX_MEDIA_TYPES: readonly string[] = [MediaType.dockerManifestList, MediaType.ociIndex];

/**
 * The OCI 1.1 release candidates' artifact manifest: withdrawn from the spec,
 * but some registries still hold signatures and SBOMs in it. Asked for, so
 * they pass through like any artifact (byte-exact, never converted).
 */
export const OCI_ARTIFACT_MANIFEST = 'application/vnd.oci.artifact.manifest.v1+json';

/** Sent upstream on every manifest request, so the cache holds what any client could accept. */
export const UPSTREAM_MANIFEST_ACCEPT = [...MANIFEST_MEDIA_TYPES, OCI_ARTIFACT_MANIFEST].join(', ');

/** Registries refuse manifests larger than this (distribution's limit), and so does the mirror. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** The media types a client's Accept header admits; undefined means "anything" (no header or a wildcard). */
export function parseAccept(header: string | string[] | undefined): Set<string> | undefined {
  const values = (Array.isArray(header) ? header : [header ?? ''])
    .flatMap((value) => value.split(','))
    .map((value) => value.split(';')[0]!.trim().toLowerCase())
    .filter(Boolean);
  if (values.length === 0 || values.some((value) => value === '*/*' || value === 'application/*')) return undefined;
  return new Set(values);
}

/** The media type a manifest declares in its own body (schema 2 and OCI both carry it; OCI may omit it). */
export function mediaTypeOfManifest(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { mediaType?: unknown; manifests?: unknown; layers?: unknown };
    if (typeof parsed.mediaType === 'string') return parsed.mediaType;
    if (Array.isArray(parsed.manifests)) return MediaType.ociIndex;
    if (Array.isArray(parsed.layers)) return MediaType.ociManifest;
  } catch {
    // Not JSON: the caller treats it as unknown.
  }
  return undefined;
}
