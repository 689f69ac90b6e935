import { MediaType } from './media-types.js';

/**
 * The OCI 1.1 referrers vocabulary: the descriptors a referrers answer
 * lists, the index it is sent as, the tag-schema fallback's tag name, and
 * what kind of attachment (signature, attestation, SBOM) a descriptor is.
 */

export interface ReferrerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export type AttachmentKind = 'signature' | 'attestation' | 'sbom' | 'other';

/** The tag the spec's fallback keeps a subject's referrers index under: `<alg>-<hex>`. */
export function referrersTagOf(subject: string): string {
  return subject.replace(':', '-');
}

/**
 * Cosign's own tags next to a subject (`sha256-<hex>.sig`, `.att`, `.sbom`):
 * not referrers (they have no `subject`), but where cosign and skopeo's
 * `use-sigstore-attachments` keep signatures, so prefetch takes them too.
 */
export const COSIGN_TAG_SUFFIXES = { sig: 'signature', att: 'attestation', sbom: 'sbom' } as const satisfies Record<string, AttachmentKind>;

/** A tag that holds attachments (the fallback's index, cosign's .sig/.att/.sbom), not an image of its own. */
export function isAttachmentTag(tag: string): boolean {
  return /^(sha256-[0-9a-f]{64}|sha512-[0-9a-f]{128})(\.(sig|att|sbom))?$/.test(tag);
}

export function cosignTagsOf(subject: string): Array<{ tag: string; kind: AttachmentKind }> {
  return Object.entries(COSIGN_TAG_SUFFIXES).map(([suffix, kind]) => ({ tag: `${referrersTagOf(subject)}.${suffix}`, kind }));
}

/** The referrers answer: an OCI image index listing the descriptors. */
export function referrersIndex(descriptors: readonly ReferrerDescriptor[]): { schemaVersion: 2; mediaType: string; manifests: ReferrerDescriptor[] } {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [...descriptors] };
}

const SIGNATURE_TYPES = [
  'application/vnd.dev.cosign.artifact.sig.v1+json',
  'application/vnd.dev.cosign.simplesigning.v1+json',
  'application/vnd.cncf.notary.signature',
  'application/vnd.dev.sigstore.bundle',
];
const ATTESTATION_PATTERN = /in-toto|dsse|attestation|provenance|vnd\.dev\.cosign\.artifact\.att/i;
const SBOM_PATTERN = /spdx|cyclonedx|sbom|syft/i;

/** What a referrer is, from its artifactType (or, for artifacts without one, its media type). */
export function attachmentKind(descriptor: Pick<ReferrerDescriptor, 'artifactType' | 'mediaType'>): AttachmentKind {
  const type = descriptor.artifactType ?? descriptor.mediaType;
  if (SBOM_PATTERN.test(type)) return 'sbom';
  if (ATTESTATION_PATTERN.test(type)) return 'attestation';
  if (SIGNATURE_TYPES.some((prefix) => type.startsWith(prefix))) return 'signature';
  return 'other';
}

/**
 * Keeps only well-formed descriptors from an upstream's index (digest, size
 * and media type present, annotations a string map), each digest once: what
 * the mirror serves and prefetch walks must not carry junk from a bad upstream.
 */
export function cleanDescriptors(value: unknown, isDigest: (digest: string) => boolean): ReferrerDescriptor[] {
  if (!Array.isArray(value)) return [];
  const seen = new Set<string>();
  const clean: ReferrerDescriptor[] = [];
  for (const entry of value as Array<Record<string, unknown>>) {
    if (!entry || typeof entry !== 'object') continue;
    const { mediaType, digest, size, artifactType, annotations } = entry;
    if (typeof mediaType !== 'string' || typeof digest !== 'string' || !isDigest(digest) || seen.has(digest)) continue;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) continue;
    seen.add(digest);
    clean.push({
      mediaType, digest, size,
      ...(typeof artifactType === 'string' ? { artifactType } : {}),
      ...(isStringMap(annotations) ? { annotations } : {}),
    });
  }
  return clean;
}

function isStringMap(value: unknown): value is Record<string, string> {
  return !!value && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((item) => typeof item === 'string');
}
