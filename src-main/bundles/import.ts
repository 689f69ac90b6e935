import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { ImportRequest, ImportResult, RefusedEntry } from '../api/types.js';
import { isValidTag, parseDigest } from '../core/oci/grammar.js';
import { INDEX_MEDIA_TYPES, mediaTypeOfManifest } from '../core/oci/media-types.js';
import { DigestMismatchError } from '../core/store/ingest.js';
import {
  BUNDLE_FILE, BundleError, IMAGE_NAME_ANNOTATION, INDEX_FILE, layoutEntryOf, REF_NAME_ANNOTATION, type BundleContents, type BundleTag,
} from './bundle-format.js';
import type { BundleCore, TaskProgress } from './bundle-core.js';
import { BundleBlobSource } from './bundle-source.js';
import type { RegistryClient } from '../core/upstream/registry-client.js';
import { MAX_METADATA_BYTES, readLayout } from './layout-reader.js';

const DAY_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_PIN_DAYS = 30;

interface IndexFile {
  manifests?: Array<{ digest?: string; mediaType?: string; size?: number; annotations?: Record<string, string> }>;
}

/** What the blob pass found, for the pass over manifests and tags. */
interface Received {
  contents?: BundleContents;
  index?: IndexFile;
  /** Every digest the bundle carried (imported, already here, or refused). */
  carried: Set<string>;
  /** Sizes by digest, from contents. */
  sizes?: Map<string, number>;
}

/**
 * Imports a bundle: every blob through the store's verified ingest (a
 * damaged one is refused and named; the rest goes on), then manifests and
 * tags, recorded only once everything they need is in the store, with the
 * time the exporting side last confirmed each tag. A second run skips what
 * the first stored, and goes on inside the blob it stopped in (its bytes
 * were kept), so an interrupted import resumes where it stopped.
 */
export async function importBundle(core: BundleCore, request: ImportRequest, progress: TaskProgress, pin: (digests: string[], until: number, reason: string) => Promise<void>): Promise<ImportResult> {
  const result: ImportResult = { path: request.path, added: [], alreadyPresent: [], refused: [], addedBytes: 0, tags: [] };
  try {
    const received = await receiveBlobs(core, request.path, request.repository, result, progress);
    progress({ step: 'recording manifests and tags' });
    const complete = await recordManifests(core, received, result);
    recordTags(core, request, received, complete, result);
    recordReferrers(core, received, complete, result);
    const pinDays = request.pinDays ?? DEFAULT_PIN_DAYS;
    if (pinDays > 0) {
      result.pinnedUntil = Date.now() + pinDays * DAY_MS;
      await pin([...result.added, ...result.alreadyPresent], result.pinnedUntil, `import of ${request.path}`);
    }
    await core.metadata.flush();
    return result;
  } finally {
    if (request.removeAfter) await rm(request.path, { force: true, recursive: true });
  }
}

async function receiveBlobs(core: BundleCore, path: string, repository: string | undefined, result: ImportResult, progress: TaskProgress): Promise<Received> {
  const received: Received = { carried: new Set() };
  let bytesDone = 0;
  let blobsDone = 0;
  progress({ step: `reading ${path}`, bytesDone: 0, blobsDone: 0 });
  let current: string | undefined;
  try {
    for await (const entry of readLayout(path)) {
      current = entry.path;
      const kind = layoutEntryOf(entry.path);
      if (kind.kind === 'ignored') {
        await entry.skip();
        continue;
      }
      if (kind.kind === 'refused' || !entry.regular) {
        result.refused.push({ entry: entry.path, reason: kind.kind === 'refused' ? kind.reason : 'not a regular file (a link or device is never followed)' });
        await entry.skip();
        continue;
      }
      if (kind.kind === 'file') {
        await readMetadataFile(entry.path, entry.size, entry.open().stream, received, progress);
        continue;
      }
      received.carried.add(kind.digest);
      const target = pipelineTarget(core, received, repository);
      const outcome = await ingestBlob(core, path, kind.digest, entry, declaredSize(received, kind.digest), target, (bytes) => progress({ bytesDone: (bytesDone += bytes) }));
      if (outcome === 'added') {
        result.added.push(kind.digest);
        result.addedBytes += entry.size;
      } else if (outcome === 'present') {
        result.alreadyPresent.push(kind.digest);
        progress({ bytesDone: (bytesDone += entry.size) });
      } else result.refused.push({ entry: entry.path, reason: outcome.refused });
      progress({ blobsDone: (blobsDone += 1) });
    }
  } catch (error) {
    // This side's own failures (a full disk) end the import; anything else is the bundle's: named, and the rest stands.
    if ((error as NodeJS.ErrnoException).syscall) throw error;
    const reason = error instanceof BundleError ? error.message : `${path} is damaged or truncated (in or after the entry ${current ?? 'at its start'}): ${(error as Error).message}`;
    result.refused.push({ entry: path, reason });
  }
  return received;
}

async function readMetadataFile(name: string, size: number, stream: Readable, received: Received, progress: TaskProgress): Promise<void> {
  if (size > MAX_METADATA_BYTES) throw new BundleError(`${name} is ${size} bytes, more than any layout needs`);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (name === 'oci-layout') return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BundleError(`${name} is not valid JSON`);
  }
  if (name === INDEX_FILE) received.index = parsed as IndexFile;
  if (name === BUNDLE_FILE) {
    const contents = parsed as BundleContents;
    if (contents.kind !== 'layover-bundle' || !Array.isArray(contents.tags)) throw new BundleError(`${BUNDLE_FILE} is not a Layover bundle's contents`);
    received.contents = contents;
    const total = [...(contents.manifests ?? []), ...(contents.blobs ?? [])];
    progress({ bytesTotal: total.reduce((sum, item) => sum + item.size, 0), blobsTotal: total.length });
  }
}

type IngestOutcome = 'added' | 'present' | { refused: string };
type BundleEntry = { size: number; open(offset?: number): { start: number; stream: Readable }; skip(): Promise<void> };

/**
 * One blob into the store; a blob the store holds is not read at all
 * (resume). The bundle is a source of the core's blob pipeline, which
 * verifies and stores its bytes like any other source's, under the
 * repository the bundle names; a layout that names none yet (a tar from
 * another tool with index.json at its end) goes straight through the
 * store's verified ingest.
 */
async function ingestBlob(core: BundleCore, bundle: string, digest: string, entry: BundleEntry, declared: number | undefined, target: PipelineTarget | undefined, onBytes: (bytes: number) => void): Promise<IngestOutcome> {
  if ((await core.store.sizeOf(digest)) !== undefined) {
    await entry.skip();
    return 'present';
  }
  if (declared !== undefined && entry.size > declared) {
    await entry.skip();
    return { refused: `it is ${entry.size} bytes, more than the ${declared} the bundle's contents name: refused` };
  }
  if (target) return throughPipeline(core, bundle, digest, entry, declared ?? entry.size, target, onBytes);
  const ingest = await core.store.createIngest(digest, entry.size);
  try {
    for await (const chunk of entry.open().stream) {
      await ingest.write(chunk as Buffer);
      onBytes((chunk as Buffer).length);
    }
    await ingest.finish(); // the store records it in the index once verified
    return 'added';
  } catch (error) {
    await ingest.fail(error as Error);
    return refusal(error);
  }
}

interface PipelineTarget {
  client: RegistryClient;
  repository: string;
}

/**
 * The blob through the core's pipeline, as big as the bundle's contents say (an entry cut short, as by a copy
 * that stopped, ends early: its bytes are kept for the next import).
 */
async function throughPipeline(core: BundleCore, bundle: string, digest: string, entry: BundleEntry, size: number, target: PipelineTarget, onBytes: (bytes: number) => void): Promise<IngestOutcome> {
  const source = new BundleBlobSource(digest, entry, size, bundle, onBytes);
  const remove = core.blobs.addSources((want) => (want.digest === digest ? [source] : []));
  try {
    // Resumable: bytes of a blob this import does not finish are kept, and the next import goes on from them.
    const handle = await core.blobs.open({ client: target.client, repository: target.repository, digest, kind: 'prefetch', size, resumable: true });
    await handle.complete();
    if (source.opened) return 'added';
    await entry.skip(); // a transfer of it was already running (a pull): it came from there
    return 'present';
  } catch (error) {
    if (!source.opened) await entry.skip().catch(() => undefined);
    return refusal(error);
  } finally {
    remove();
  }
}

/** The size layover-bundle.json gives a blob or manifest (read before the blobs: the writer puts it first). */
function declaredSize(received: Received, digest: string): number | undefined {
  if (!received.contents) return undefined;
  received.sizes ??= new Map([...(received.contents.manifests ?? []), ...(received.contents.blobs ?? [])].map((item) => [item.digest, item.size]));
  return received.sizes.get(digest);
}

function refusal(error: unknown): { refused: string } {
  if (error instanceof DigestMismatchError) return { refused: `its bytes hash to ${error.actual}, not to the digest it is named by: damaged on the way, refused` };
  return { refused: `could not be read whole: ${(error as Error).message}` };
}

/** The repository the bundle's blobs are fetched under (for the pipeline's counters and access times): its first tag's. */
function pipelineTarget(core: BundleCore, received: Received, repository: string | undefined): PipelineTarget | undefined {
  const tag = received.contents?.tags[0];
  const client = tag ? core.router.find(tag.registry) : undefined;
  if (tag && client) return { client, repository: tag.repository };
  const name = received.index?.manifests?.map((entry) => entry.annotations?.[IMAGE_NAME_ANNOTATION] ?? entry.annotations?.[REF_NAME_ANNOTATION]).find(Boolean);
  const reference = name ? referenceOf(core, name, repository) : undefined;
  if (reference && typeof reference !== 'string') return { client: core.router.find(reference.registry)!, repository: reference.repository };
  return undefined;
}

/**
 * Records the manifests whose content is all in the store; returns them.
 * An image needs its config and layers; an index needs at least one of its
 * images (a bundle made for one platform carries only that one).
 */
async function recordManifests(core: BundleCore, received: Received, result: ImportResult): Promise<Set<string>> {
  const complete = new Set<string>();
  const checked = new Map<string, string | undefined>();
  const check: ManifestCheck = async (digest, namedBy, mediaType) => {
    if (checked.has(digest)) return checked.get(digest);
    checked.set(digest, 'cycle');
    const problem = await checkManifest(core, digest, namedBy, mediaType, check, received);
    checked.set(digest, problem);
    if (!problem) complete.add(digest);
    return problem;
  };
  const roots: Array<{ digest: string; namedBy: string; mediaType?: string }> = [];
  for (const tag of received.contents?.tags ?? []) roots.push({ digest: tag.digest, namedBy: `the tag ${tag.registry}/${tag.repository}:${tag.tag}`, mediaType: tag.mediaType });
  for (const entry of received.index?.manifests ?? []) {
    if (typeof entry.digest === 'string') roots.push({ digest: entry.digest, namedBy: INDEX_FILE, ...(entry.mediaType ? { mediaType: entry.mediaType } : {}) });
  }
  for (const manifest of received.contents?.manifests ?? []) roots.push({ digest: manifest.digest, namedBy: BUNDLE_FILE, ...(manifest.mediaType ? { mediaType: manifest.mediaType } : {}) });
  const reported = new Set<string>();
  for (const root of roots) {
    const problem = await check(root.digest, root.namedBy, root.mediaType);
    if (problem && problem !== 'cycle' && !reported.has(root.digest)) {
      reported.add(root.digest);
      result.refused.push({ entry: `manifest ${root.digest}`, reason: problem });
    }
  }
  return complete;
}

type ManifestCheck = (digest: string, namedBy: string, mediaType?: string) => Promise<string | undefined>;

async function checkManifest(core: BundleCore, digest: string, namedBy: string, mediaType: string | undefined, check: ManifestCheck, received: Received): Promise<string | undefined> {
  if (!parseDigest(digest)) return `${namedBy} names ${digest}, which is not a digest`;
  let body: Buffer;
  try {
    if (!storeHas(core, digest)) throw new Error('not stored');
    body = await core.store.read(digest);
  } catch {
    return received.carried.has(digest) ? `${namedBy} names it, and its blob was refused` : `${namedBy} names it, but it is not in the bundle (nor in this Layover)`;
  }
  let json: { manifests?: Array<{ digest: string; mediaType?: string }>; config?: { digest: string }; layers?: Array<{ digest: string; urls?: string[]; mediaType?: string }> };
  try {
    json = JSON.parse(body.toString('utf8')) as typeof json;
  } catch {
    return 'it is not valid JSON';
  }
  const type = mediaType ?? mediaTypeOfManifest(body);
  if (!type) return 'it has no media type';
  if (INDEX_MEDIA_TYPES.includes(type) || Array.isArray(json.manifests)) {
    const children = json.manifests ?? [];
    let usable = 0;
    for (const child of children) if (storeHas(core, child.digest) && !(await check(child.digest, `index ${digest}`, child.mediaType))) usable += 1;
    if (usable === 0) return `none of the images it lists is complete in the bundle`;
  } else {
    if (!json.config || !Array.isArray(json.layers)) return 'it is neither an image manifest nor an index';
    const needed = [json.config, ...json.layers.filter((layer) => !(layer.urls?.length || /foreign|nondistributable/.test(layer.mediaType ?? '')))];
    const lacking = needed.find((blob) => !storeHas(core, blob.digest));
    if (lacking) return `it needs blob ${lacking.digest}, which is neither in the bundle nor in this Layover`;
  }
  core.metadata.setManifest(digest, { mediaType: type, size: body.length });
  return undefined;
}

/** Tags from the bundle's snapshot (or, for a layout from another tool, its ref names), once their manifest is complete. */
function recordTags(core: BundleCore, request: ImportRequest, received: Received, complete: Set<string>, result: ImportResult): void {
  for (const tag of tagsOf(core, request, received, result)) {
    const label = `${tag.registry}/${tag.repository}:${tag.tag}`;
    if (!core.router.find(tag.registry)) {
      result.refused.push({ entry: `tag ${label}`, reason: `registry ${tag.registry} is not configured in this Layover: add it in Settings → Registries, then import again` });
      continue;
    }
    if (!isValidTag(tag.tag)) {
      result.refused.push({ entry: `tag ${label}`, reason: 'not a valid tag' });
      continue;
    }
    if (!complete.has(tag.digest)) {
      result.refused.push({ entry: `tag ${label}`, reason: `its manifest ${tag.digest} is not complete here` });
      continue;
    }
    const current = core.metadata.getTag(tag.registry, tag.repository, tag.tag);
    // A tag this side confirmed more recently than the bundle is newer news: kept.
    if (current && current.checkedAt >= tag.confirmedAt) {
      result.tags.push(label);
      continue;
    }
    core.metadata.setTag(tag.registry, tag.repository, tag.tag, { digest: tag.digest, mediaType: core.metadata.getManifest(tag.digest)?.mediaType ?? tag.mediaType, checkedAt: tag.confirmedAt });
    result.tags.push(label);
  }
}

/** The referrers lists of the bundle's manifests, with the time they were confirmed; a list this side has newer is kept. */
function recordReferrers(core: BundleCore, received: Received, complete: Set<string>, result: ImportResult): void {
  for (const entry of received.contents?.referrers ?? []) {
    const label = `referrers of ${entry.registry}/${entry.repository}@${entry.subject}`;
    if (!core.router.find(entry.registry)) {
      result.refused.push({ entry: label, reason: `registry ${entry.registry} is not configured in this Layover: add it in Settings → Registries, then import again` });
      continue;
    }
    if (!complete.has(entry.subject)) continue; // its manifest was refused already, named
    const current = core.metadata.getReferrers(entry.registry, entry.repository, entry.subject);
    if (current && current.checkedAt >= entry.checkedAt) continue;
    core.metadata.setReferrers(entry.registry, entry.repository, entry.subject, { descriptors: entry.descriptors, via: entry.via, checkedAt: entry.checkedAt });
  }
}

function tagsOf(core: BundleCore, request: ImportRequest, received: Received, result: ImportResult): BundleTag[] {
  if (received.contents) return received.contents.tags;
  // A layout from another tool: its ref names. When it was confirmed is unknown, so the tag is as stale as can be.
  const tags: BundleTag[] = [];
  for (const entry of received.index?.manifests ?? []) {
    const name = entry.annotations?.[IMAGE_NAME_ANNOTATION] ?? entry.annotations?.[REF_NAME_ANNOTATION];
    if (!name || typeof entry.digest !== 'string') continue;
    const reference = referenceOf(core, name, request.repository);
    if (typeof reference === 'string') {
      result.refused.push({ entry: `${INDEX_FILE} ref ${name}`, reason: reference });
      continue;
    }
    tags.push({ ...reference, digest: entry.digest, mediaType: entry.mediaType ?? '', confirmedAt: 0 });
  }
  return tags;
}

/** "registry/repo:tag", "repo:tag" or a bare tag (with --repository), as a tag of a configured registry; a reason otherwise. */
function referenceOf(core: BundleCore, name: string, repository: string | undefined): Pick<BundleTag, 'registry' | 'repository' | 'tag'> | string {
  const colon = name.lastIndexOf(':');
  const hasRepository = colon > 0 && colon > name.lastIndexOf('/');
  const tag = hasRepository ? name.slice(colon + 1) : name;
  const path = hasRepository ? name.slice(0, colon) : repository;
  if (!path) return 'a bare tag: name the repository it belongs to (layover import PATH --repository REPO)';
  try {
    const resolved = core.router.resolve(path, null);
    return { registry: resolved.client.name, repository: resolved.repository, tag };
  } catch (error) {
    return (error as Error).message;
  }
}

function storeHas(core: BundleCore, digest: string): boolean {
  return parseDigest(digest) !== undefined && core.metadata.blob(digest) !== undefined;
}

export type { RefusedEntry };
