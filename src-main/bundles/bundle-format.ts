import { readFile } from 'node:fs/promises';
import { parseDigest } from '../core/oci/grammar.js';

/**
 * What a courier bundle is on the drive: a plain OCI image layout
 * (oci-layout, index.json, blobs/<algorithm>/<hex>) that skopeo and other
 * OCI tools read, plus one file of Layover's own, layover-bundle.json, with
 * the tag snapshot (registry, repository, tag -> digest, when the upstream
 * last confirmed it) and the contents (every manifest and blob, by digest
 * and size, and what was left out because the other side holds it).
 */

export const OCI_LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';
export const BUNDLE_FILE = 'layover-bundle.json';
export const OCI_LAYOUT_CONTENT = JSON.stringify({ imageLayoutVersion: '1.0.0' });
export const OCI_INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';
/** The OCI annotation skopeo's `oci:DIR:NAME` looks a name up by. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
/** The full reference, as containerd writes it. */
export const IMAGE_NAME_ANNOTATION = 'io.containerd.image.name';

export interface BundleTag {
  registry: string;
  repository: string;
  tag: string;
  digest: string;
  mediaType: string;
  /** When the upstream last confirmed this tag at the exporting side (epoch ms): freshness and stale rules start from here. */
  confirmedAt: number;
}

/** A manifest's OCI 1.1 referrers (signatures, SBOMs, attestations) as the exporting side cached them. */
export interface BundleReferrers {
  registry: string;
  repository: string;
  subject: string;
  descriptors: Array<{ mediaType: string; digest: string; size: number; artifactType?: string; annotations?: Record<string, string> }>;
  via: 'api' | 'tag-schema';
  /** When the upstream last confirmed the list at the exporting side (epoch ms). */
  checkedAt: number;
}

export interface BundleItem {
  digest: string;
  size: number;
  mediaType?: string;
}

export interface BundleContents {
  kind: 'layover-bundle';
  version: 1;
  createdAt: number;
  createdBy: string;
  tags: BundleTag[];
  /** Manifests and indexes in the bundle. */
  manifests: BundleItem[];
  /** Configs and layers in the bundle. */
  blobs: BundleItem[];
  /** Configs and layers the tags need that were left out: the receiving side holds them (--have). */
  skipped: BundleItem[];
  /** The referrers of the bundle's manifests; their manifests and blobs are in the bundle. */
  referrers?: BundleReferrers[];
}

export interface Inventory {
  kind: 'layover-inventory';
  version: 1;
  createdAt: number;
  /** [digest, size] of every blob and manifest this instance holds. */
  blobs: Array<[string, number]>;
}

/** An entry of a layout, by its path inside it: one of the three files, or a blob named by its digest. */
export type LayoutEntry = { kind: 'file'; name: string } | { kind: 'blob'; digest: string };

/**
 * Reads a path inside a bundle. Anything else (a "../" escape, an absolute
 * path, a file a layout does not have) is refused with the entry named:
 * bundles come from a drive, and their names are never trusted to build a path.
 */
export function layoutEntryOf(path: string): LayoutEntry | { kind: 'refused'; reason: string } | { kind: 'ignored' } {
  const name = path.replace(/^\.\//, '').replace(/\/$/, '');
  if (name.startsWith('/') || name.split('/').some((part) => part === '..')) return { kind: 'refused', reason: 'the path leaves the bundle' };
  if (name === '' || name === '.' || name === 'blobs' || /^blobs\/[a-z0-9]+$/.test(name)) return { kind: 'ignored' };
  if (name === OCI_LAYOUT_FILE || name === INDEX_FILE || name === BUNDLE_FILE) return { kind: 'file', name };
  const blob = /^blobs\/([a-z0-9]+)\/([a-zA-Z0-9=_-]+)$/.exec(name);
  if (blob && parseDigest(`${blob[1]}:${blob[2]}`)) return { kind: 'blob', digest: `${blob[1]}:${blob[2]}` };
  return { kind: 'refused', reason: 'not a file of an OCI image layout (oci-layout, index.json, blobs/<algorithm>/<hex>)' };
}

export function blobEntryPath(digest: string): string {
  const separator = digest.indexOf(':');
  return `blobs/${digest.slice(0, separator)}/${digest.slice(separator + 1)}`;
}

/**
 * The digests the other side holds, from `--have`: an inventory, or a
 * previous bundle's layover-bundle.json (what it carried, and what it left
 * out because the other side already had it).
 */
export async function readHaveFile(path: string): Promise<Set<string>> {
  let parsed: Partial<Inventory> | Partial<BundleContents>;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8')) as typeof parsed;
  } catch (error) {
    throw new BundleError(`cannot read --have ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (parsed.kind === 'layover-inventory' && Array.isArray(parsed.blobs)) {
    return new Set((parsed as Inventory).blobs.map(([digest]) => digest).filter((digest) => typeof digest === 'string'));
  }
  if (parsed.kind === 'layover-bundle') {
    const bundle = parsed as BundleContents;
    return new Set([...(bundle.manifests ?? []), ...(bundle.blobs ?? []), ...(bundle.skipped ?? [])].map((item) => item.digest));
  }
  throw new BundleError(`--have ${path} is neither a Layover inventory (layover inventory --out FILE) nor a bundle's ${BUNDLE_FILE}`);
}

/** A bundle problem a person can act on (the API answers it as 400 with the message). */
export class BundleError extends Error {
  readonly status = 400;
  readonly code = 'BUNDLE_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}
