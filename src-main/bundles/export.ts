import picomatch from 'picomatch';
import type { BundleSelection, ExportPlan, ExportRequest, ExportResult, Platform, PrefetchRule, TagSelector } from '../api/types.js';
import type { RegistryClient } from '../core/upstream/registry-client.js';
import {
  BUNDLE_FILE, BundleError, IMAGE_NAME_ANNOTATION, INDEX_FILE, OCI_INDEX_MEDIA_TYPE, OCI_LAYOUT_CONTENT, OCI_LAYOUT_FILE, readHaveFile,
  REF_NAME_ANNOTATION, type BundleContents, type BundleItem, type BundleReferrers, type BundleTag,
} from './bundle-format.js';
import type { BundleCore, ManifestLoader, SelectionVocabulary, TaskProgress } from './bundle-core.js';
import { createLayoutWriter, refuseExisting } from './layout-writer.js';

/** One tag to carry, with the platforms wanted under an index (undefined: all). */
interface WantedTag {
  client: RegistryClient;
  repository: string;
  tag: string;
  platforms: Platform[] | undefined;
}

/** Everything a bundle will hold, resolved before the first byte is written. */
export interface ExportContent {
  tags: BundleTag[];
  manifests: Map<string, BundleItem>;
  blobs: Map<string, BundleItem & { client: RegistryClient; repository: string }>;
  skipped: BundleItem[];
  referrers: BundleReferrers[];
}

const LATEST: TagSelector = { kind: 'exact', tags: ['latest'] };
/** cosign's tag scheme for signatures, attestations and SBOMs of a manifest: sha256-<hex>.sig and so on. */
const REFERRER_TAG_SUFFIXES = ['.sig', '.att', '.sbom'];

/**
 * Resolves a selection to tags, manifests and blobs, from the cache first:
 * a tag or manifest the cache lacks is fetched through the core's fetchers
 * (verified and stored like any pull), so a bundle never holds what the
 * cache could not vouch for.
 */
export async function resolveExport(core: BundleCore, vocabulary: SelectionVocabulary, request: ExportRequest): Promise<ExportContent> {
  if (request.selections.length === 0) throw new BundleError('nothing selected: name a repository, --rule NAME, or --all-rules');
  await refuseExisting(request.out);
  const have = request.have ? await readHaveFile(request.have) : new Set<string>();
  const content: ExportContent = { tags: [], manifests: new Map(), blobs: new Map(), skipped: [], referrers: [] };
  const queue: WantedTag[] = [];
  for (const selection of request.selections) queue.push(...wantedTags(core, vocabulary, selection));
  if (queue.length === 0) throw new BundleError('the selection names no tag the cache holds: prefetch it first (layover prefetch REPO --tags …)');
  const seen = new Set<string>();
  for (let wanted = queue.shift(); wanted; wanted = queue.shift()) {
    const key = `${wanted.client.name}/${wanted.repository}:${wanted.tag}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const manifests = await addTag(core, vocabulary, content, wanted);
    queue.push(...referrerTags(core, wanted, manifests));
  }
  for (const [digest, blob] of content.blobs) {
    if (!have.has(digest)) continue;
    content.blobs.delete(digest);
    content.skipped.push({ digest, size: blob.size, ...(blob.mediaType ? { mediaType: blob.mediaType } : {}) });
  }
  return content;
}

export async function planOf(core: BundleCore, content: ExportContent): Promise<ExportPlan> {
  let missingBlobs = 0;
  let missingBytes = 0;
  for (const blob of content.blobs.values()) {
    if ((await core.store.sizeOf(blob.digest)) !== undefined) continue;
    missingBlobs += 1;
    missingBytes += blob.size;
  }
  return {
    tags: content.tags.map(({ registry, repository, tag, digest }) => ({ registry, repository, tag, digest })),
    manifests: content.manifests.size,
    blobs: content.blobs.size,
    bytes: sum(content.manifests.values()) + sum(content.blobs.values()),
    skippedBlobs: content.skipped.length,
    skippedBytes: sum(content.skipped),
    missingBlobs,
    missingBytes,
  };
}

/** Fetches what the cache lacks (through the core pipeline), then writes the layout and renames it into place. */
export async function writeExport(core: BundleCore, content: ExportContent, out: string, progress: TaskProgress): Promise<ExportResult> {
  const plan = await planOf(core, content);
  progress({ step: 'fetching what the cache lacks', bytesTotal: plan.bytes, blobsTotal: plan.manifests + plan.blobs, bytesDone: 0, blobsDone: 0 });
  for (const blob of content.blobs.values()) {
    if ((await core.store.sizeOf(blob.digest)) !== undefined) continue;
    try {
      const source = await core.blobs.open({ client: blob.client, repository: blob.repository, digest: blob.digest, kind: 'prefetch' });
      await source.complete();
    } catch (error) {
      throw new BundleError(`blob ${blob.digest} of ${blob.repository} is not in the cache and could not be fetched: ${(error as Error).message}`);
    }
  }
  const writer = await createLayoutWriter(out);
  let bytesDone = 0;
  let blobsDone = 0;
  try {
    progress({ step: `writing ${out}` });
    await writer.addFile(OCI_LAYOUT_FILE, Buffer.from(OCI_LAYOUT_CONTENT));
    await writer.addFile(BUNDLE_FILE, Buffer.from(JSON.stringify(contentsFile(content), null, 2)));
    await writer.addFile(INDEX_FILE, Buffer.from(JSON.stringify(ociIndex(content), null, 2)));
    for (const item of [...content.manifests.values(), ...content.blobs.values()]) {
      const path = core.store.pathOf(item.digest);
      if ((await core.store.sizeOf(item.digest)) !== item.size) {
        throw new BundleError(`${item.digest} left the cache while the bundle was written (evicted?): export again`);
      }
      await writer.addBlob(item.digest, path, item.size, (bytes) => {
        bytesDone += bytes;
        progress({ bytesDone });
      });
      blobsDone += 1;
      progress({ blobsDone });
    }
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return {
    path: out, bytes: plan.bytes, blobs: plan.blobs, manifests: plan.manifests,
    skippedBlobs: plan.skippedBlobs, skippedBytes: plan.skippedBytes, tags: content.tags.length,
  };
}

// ---------------------------------------------------------------- selections

function wantedTags(core: BundleCore, vocabulary: SelectionVocabulary, selection: BundleSelection): WantedTag[] {
  switch (selection.kind) {
    case 'repository': {
      const { client, repository } = resolveName(core, selection.repository, selection.registry);
      const tags = vocabulary.selectTags(knownTags(core, client.name, repository), selection.tags ?? LATEST);
      const platforms = vocabulary.platformsOf(selection.platforms ?? 'host');
      if (tags.length === 0) throw new BundleError(`no cached tag of ${client.name}/${repository} matches the selection: prefetch it first`);
      return tags.map((tag) => ({ client, repository, tag, platforms }));
    }
    case 'rule': {
      const rule = core.settings.rules.find((candidate) => candidate.id === selection.rule);
      if (!rule) throw new BundleError(`no prefetch rule named ${selection.rule}: the rules are ${core.settings.rules.map((r) => r.id).join(', ') || 'none'}`);
      return tagsOfRule(core, vocabulary, rule);
    }
    case 'all-rules':
      return core.settings.rules.filter((rule) => rule.enabled).flatMap((rule) => tagsOfRule(core, vocabulary, rule));
  }
}

function tagsOfRule(core: BundleCore, vocabulary: SelectionVocabulary, rule: PrefetchRule): WantedTag[] {
  const client = core.router.find(rule.registry);
  if (!client) throw new BundleError(`rule ${rule.id}: registry ${rule.registry} is not configured`);
  const platforms = vocabulary.platformsOf(rule.platforms);
  const repositories = vocabulary.isRepositoryGlob(rule.repository)
    ? core.metadata.repositories().filter((name) => name.registry === rule.registry && picomatch(rule.repository)(name.repository)).map((name) => name.repository)
    : [resolveName(core, rule.repository, rule.registry).repository];
  return repositories.flatMap((repository) =>
    vocabulary.selectTags(knownTags(core, client.name, repository), rule.tags).map((tag) => ({ client, repository, tag, platforms })));
}

/** The tags the cache knows of a repository: those it holds, and its last tag list from the upstream. */
function knownTags(core: BundleCore, registry: string, repository: string): string[] {
  const held = Object.keys(core.metadata.repository(registry, repository)?.tags ?? {});
  return [...new Set([...held, ...(core.metadata.getTagList(registry, repository)?.tags ?? [])])];
}

function resolveName(core: BundleCore, repository: string, registry?: string): { client: RegistryClient; repository: string } {
  try {
    return core.router.resolve(repository, registry ?? null);
  } catch (error) {
    throw new BundleError((error as Error).message);
  }
}

/** Adds one tag's manifests and blobs; returns the manifests, for their referrers. */
async function addTag(core: BundleCore, vocabulary: SelectionVocabulary, content: ExportContent, wanted: WantedTag): Promise<string[]> {
  const { client, repository, tag } = wanted;
  const label = `${client.name}/${repository}:${tag}`;
  let record = core.metadata.getTag(client.name, repository, tag);
  if (!record) {
    await core.manifests.get({ client, repository, reference: tag }).catch((error: Error) => {
      throw new BundleError(`${label} is not in the cache and could not be fetched: ${error.message}`);
    });
    record = core.metadata.getTag(client.name, repository, tag);
    if (!record) throw new BundleError(`${label} could not be resolved`);
  }
  const load: ManifestLoader = async (digest) => core.manifests.get({ client, repository, reference: digest });
  const image = await vocabulary.collectImage(load, record.digest, wanted.platforms, label);
  addContent(core, content, image, wanted, label);
  for (const subject of image.manifests) await addReferrers(core, vocabulary, content, wanted, subject, load);
  content.tags.push({
    registry: client.name, repository, tag, digest: record.digest,
    mediaType: core.metadata.getManifest(record.digest)?.mediaType ?? record.mediaType, confirmedAt: record.checkedAt,
  });
  return image.manifests;
}

function addContent(core: BundleCore, content: ExportContent, image: { manifests: string[]; blobs: Array<{ digest: string; size: number; mediaType?: string }> }, wanted: WantedTag, label: string): void {
  for (const digest of image.manifests) {
    const manifest = core.metadata.getManifest(digest);
    if (!manifest) throw new BundleError(`manifest ${digest} of ${label} is not in the cache`);
    content.manifests.set(digest, { digest, size: manifest.size, mediaType: manifest.mediaType });
  }
  for (const blob of image.blobs) {
    content.blobs.set(blob.digest, { digest: blob.digest, size: blob.size, ...(blob.mediaType ? { mediaType: blob.mediaType } : {}), client: wanted.client, repository: wanted.repository });
  }
}

/**
 * A manifest's OCI referrers as the cache holds them (the list, and each
 * referrer's manifest and blobs): the other side can then answer the
 * referrers API and verify signatures with no link. A referrer the cache
 * cannot produce is left out; the list still names it.
 */
async function addReferrers(core: BundleCore, vocabulary: SelectionVocabulary, content: ExportContent, wanted: WantedTag, subject: string, load: ManifestLoader): Promise<void> {
  const registry = wanted.client.name;
  const record = core.metadata.getReferrers(registry, wanted.repository, subject);
  if (!record || content.referrers.some((r) => r.registry === registry && r.repository === wanted.repository && r.subject === subject)) return;
  content.referrers.push({ registry, repository: wanted.repository, subject, descriptors: record.descriptors, via: record.via, checkedAt: record.checkedAt });
  for (const descriptor of record.descriptors) {
    const label = `referrer ${descriptor.digest} of ${registry}/${wanted.repository}@${subject}`;
    const referrer = await vocabulary.collectImage(load, descriptor.digest, undefined, label).catch(() => undefined);
    if (referrer && referrer.missingManifests.length === 0) addContent(core, content, referrer, wanted, label);
  }
}

/** Signatures, attestations and SBOMs the cache holds for these manifests (cosign's tag scheme). */
function referrerTags(core: BundleCore, wanted: WantedTag, manifests: string[]): WantedTag[] {
  const held = core.metadata.repository(wanted.client.name, wanted.repository)?.tags ?? {};
  return manifests.flatMap((digest) => REFERRER_TAG_SUFFIXES
    .map((suffix) => `${digest.replace(':', '-')}${suffix}`)
    .filter((tag) => Object.hasOwn(held, tag))
    .map((tag) => ({ ...wanted, tag, platforms: undefined })));
}

// ---------------------------------------------------------------- the files

function contentsFile(content: ExportContent): BundleContents {
  return {
    kind: 'layover-bundle', version: 1, createdAt: Date.now(), createdBy: 'Layover',
    tags: content.tags,
    manifests: [...content.manifests.values()],
    blobs: [...content.blobs.values()].map(({ digest, size, mediaType }) => ({ digest, size, ...(mediaType ? { mediaType } : {}) })),
    skipped: content.skipped,
    referrers: content.referrers,
  };
}

/** index.json: one entry per tag, named so that `skopeo copy oci:DIR:NAME` finds it. */
function ociIndex(content: ExportContent) {
  return {
    schemaVersion: 2,
    mediaType: OCI_INDEX_MEDIA_TYPE,
    manifests: content.tags.map((tag) => ({
      mediaType: tag.mediaType,
      digest: tag.digest,
      size: content.manifests.get(tag.digest)!.size,
      annotations: { [REF_NAME_ANNOTATION]: refName(tag), [IMAGE_NAME_ANNOTATION]: `${tag.registry}/${tag.repository}:${tag.tag}` },
    })),
  };
}

/** "library/app:1.0": what `oci:DIR:library/app:1.0` names. */
export function refName(tag: Pick<BundleTag, 'repository' | 'tag'>): string {
  return `${tag.repository}:${tag.tag}`;
}

function sum(items: Iterable<{ size: number }>): number {
  let total = 0;
  for (const item of items) total += item.size;
  return total;
}
