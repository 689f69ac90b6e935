import { readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore } from './blob-store.js';
import { commitAsOne, repositoryKey, SCHEMA_VERSION, tagKey, type ImportMarker, type IndexDatabases, type ManifestRecord, type OneTransaction, type TagList, type TagRecord } from './index-db.js';

/** The index of Layover before the database: one JSON document. */
interface OldMetadataFile {
  version: 1;
  /** registry name -> repository name -> record */
  registries: Record<string, Record<string, { tags?: Record<string, TagRecord>; tagList?: TagList; lastAccess?: number }>>;
  manifests?: Record<string, ManifestRecord>;
  /** digest -> last access (epoch ms) */
  access?: Record<string, number>;
}

interface BlobFile {
  digest: string;
  size: number;
  mtimeMs: number;
}

type Log = (message: string, fields?: Record<string, unknown>) => void;

export const OLD_METADATA_FILE = 'metadata.json';
/** Where the old file goes once its content is in the index: kept, never overwritten, never read again. */
export const IMPORTED_METADATA_FILE = 'metadata.json.imported';

/**
 * The first start with the index: everything the data directory already
 * holds (metadata.json and the blob files) goes into the index in ONE
 * transaction that also writes the schema marker. A kill -9 before the
 * commit leaves no marker, so the next start imports again from the
 * untouched files; after it, the old file is renamed aside.
 */
export async function importOldDataDir(db: IndexDatabases, dataDir: string, options: { store?: Pick<BlobStore, 'digestsByFolder' | 'pathOf'>; log?: Log }): Promise<void> {
  const old = await readOldMetadata(dataDir);
  const files = options.store ? await blobFiles(options.store) : [];
  const repositories = old ? Object.values(old.metadata.registries).reduce((sum, repos) => sum + Object.keys(repos).length, 0) : 0;
  if (old || files.length > 0) options.log?.('importing the data directory into the metadata index', { metadataJson: Boolean(old), repositories, blobs: files.length });
  await commitAsOne((txn) => {
    writeBlobs(db, txn, files, old?.metadata.access ?? {});
    if (old) writeOldRecords(db, txn, old.metadata);
    txn.put(db.meta, 'schema', SCHEMA_VERSION);
    if (old) txn.put(db.meta, 'imported', old.marker);
  });
  if (old) await renameImported(dataDir);
  if (old || files.length > 0) options.log?.('imported the data directory into the metadata index', { repositories, blobs: files.length });
}

/** A start after an import whose rename a crash interrupted: renames the file that was imported, and only that one. */
export async function finishImport(db: IndexDatabases, dataDir: string, log?: Log): Promise<void> {
  const found = await stat(join(dataDir, OLD_METADATA_FILE)).catch(() => undefined);
  if (!found) return;
  const marker = db.meta.get('imported') as ImportMarker | undefined;
  if (marker && marker.size === found.size && marker.mtimeMs === found.mtimeMs) {
    await renameImported(dataDir);
    return;
  }
  log?.(`${OLD_METADATA_FILE} is not read: the metadata index under index/ holds this cache's records; move the file away to silence this`);
}

async function readOldMetadata(dataDir: string): Promise<{ metadata: OldMetadataFile; marker: ImportMarker } | undefined> {
  const path = join(dataDir, OLD_METADATA_FILE);
  let text: string;
  let info;
  try {
    info = await stat(path);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
  const metadata = parseOldMetadata(text);
  // A file this version cannot read is left alone rather than replaced by an empty index.
  if (!metadata) throw new Error(`${path} is not a metadata file this version of Layover understands; move it aside to start with an empty index`);
  return { metadata, marker: { size: info.size, mtimeMs: info.mtimeMs } };
}

function parseOldMetadata(text: string): OldMetadataFile | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<OldMetadataFile>;
    return parsed.version === 1 && typeof parsed.registries === 'object' && parsed.registries !== null ? (parsed as OldMetadataFile) : undefined;
  } catch {
    return undefined;
  }
}

/** Every blob file with its size; a folder's files are stat'ed together. */
async function blobFiles(store: Pick<BlobStore, 'digestsByFolder' | 'pathOf'>): Promise<BlobFile[]> {
  const files: BlobFile[] = [];
  for await (const digests of store.digestsByFolder()) {
    const infos = await Promise.all(digests.map((digest) => stat(store.pathOf(digest)).catch(() => undefined)));
    infos.forEach((info, i) => {
      if (info?.isFile()) files.push({ digest: digests[i]!, size: info.size, mtimeMs: info.mtimeMs });
    });
  }
  return files;
}

/** A blob never read since it arrived counts from its file time, as eviction always did. */
function writeBlobs(db: IndexDatabases, txn: OneTransaction, files: BlobFile[], access: Record<string, number>): void {
  const usage = { bytes: 0, blobs: 0 };
  for (const file of files) {
    const lastAccess = Object.hasOwn(access, file.digest) ? access[file.digest]! : Math.floor(file.mtimeMs);
    txn.put(db.blobs, file.digest, { size: file.size, lastAccess });
    txn.put(db.lru, [lastAccess, file.digest], null);
    usage.bytes += file.size;
    usage.blobs += 1;
  }
  txn.put(db.meta, 'usage', usage);
}

function writeOldRecords(db: IndexDatabases, txn: OneTransaction, metadata: OldMetadataFile): void {
  for (const [digest, record] of Object.entries(metadata.manifests ?? {})) txn.put(db.manifests, digest, record);
  for (const [registry, repos] of Object.entries(metadata.registries)) {
    for (const [repository, record] of Object.entries(repos)) {
      const key = repositoryKey(registry, repository);
      txn.put(db.repositories, key, { lastAccess: record.lastAccess ?? 0 });
      if (record.tagList) txn.put(db.tagLists, key, record.tagList);
      for (const [tag, tagRecord] of Object.entries(record.tags ?? {})) txn.put(db.tags, tagKey(registry, repository, tag), tagRecord);
    }
  }
}

async function renameImported(dataDir: string): Promise<void> {
  await rename(join(dataDir, OLD_METADATA_FILE), join(dataDir, IMPORTED_METADATA_FILE));
}
