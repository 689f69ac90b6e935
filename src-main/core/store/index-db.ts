import { chmod, mkdir } from 'node:fs/promises';
import { open, type Database, type RootDatabase, type RootDatabaseOptionsWithPath } from 'lmdb';
import { PRIVATE_DIR_MODE } from './blob-store.js';
import { BLOB, DIGEST, LRU_KEY, MANIFEST, NOTHING, PackedDatabase, sameKey, TAG } from './index-codecs.js';

/**
 * The metadata index on disk: an LMDB environment (one memory-mapped B-tree
 * file, copy-on-write, so a kill -9 at any moment leaves the last committed
 * state) under <data>/index, with one named database per kind of record.
 * Reads are synchronous and cost the same at 100 or 100,000 records.
 */

/**
 * The layout this code reads and writes; a larger number on disk is a newer
 * Layover's, never touched. 1: MessagePack records keyed by hex digests.
 * 2: the blob, eviction-order, manifest and tag records packed (index-codecs.ts)
 * in databases of their own; a schema-1 index is moved over once (index-migrate.ts).
 */
export const SCHEMA_VERSION = 2;

export interface TagRecord {
  digest: string;
  mediaType: string;
  /** When the upstream last confirmed this tag (epoch ms). */
  checkedAt: number;
}

export interface ManifestRecord {
  mediaType: string;
  size: number;
}

export interface BlobRecord {
  size: number;
  /** Last time a client or prefetch read it (epoch ms), for least-recently-used eviction. */
  lastAccess: number;
}

export interface RepositoryEntry {
  lastAccess: number;
}

export interface TagList {
  tags: string[];
  fetchedAt: number;
}

/** A subject's referrers as last learned from the upstream (core/fetch/referrers.ts). */
export interface ReferrersRecord {
  /** The descriptors of the OCI index the upstream answered (or built from its tag-schema fallback). */
  descriptors: Array<{ mediaType: string; digest: string; size: number; artifactType?: string; annotations?: Record<string, string> }>;
  /** 'api': the upstream's referrers API; 'tag-schema': the sha256-<hex> tag holding an index. */
  via: 'api' | 'tag-schema';
  /** When the upstream last confirmed the list (epoch ms). */
  checkedAt: number;
}

export interface ImportMarker {
  /** The metadata.json that was imported, by size and modification time, so the rename after a crash renames only that file. */
  size: number;
  mtimeMs: number;
}

export interface MetaRecords {
  schema: number;
  usage: { bytes: number; blobs: number };
  imported: ImportMarker;
}

export interface IndexDatabases {
  root: RootDatabase;
  meta: Database<MetaRecords[keyof MetaRecords], keyof MetaRecords>;
  /** digest -> size and last access: every blob file the store holds. */
  blobs: PackedDatabase<string, BlobRecord>;
  /** [lastAccess, digest] -> nothing: the blobs in least-recently-used order. */
  lru: PackedDatabase<[number, string], null>;
  manifests: PackedDatabase<string, ManifestRecord>;
  /** registry \0 repository -> entry */
  repositories: Database<RepositoryEntry, string>;
  /** registry \0 repository \0 tag -> record: a repository's tags are one contiguous range. */
  tags: PackedDatabase<string, TagRecord>;
  /** registry \0 repository -> the upstream's full tag list, kept for offline tags/list. */
  tagLists: Database<TagList, string>;
  /** registry \0 repository \0 subject digest -> its referrers, kept for offline answers and the only-signed policy. */
  referrers: Database<ReferrersRecord, string>;
}

/** Thrown when the data directory was written by a newer Layover: it is refused, never rewritten. */
export class IndexTooNewError extends Error {
  constructor(readonly dir: string, readonly found: number) {
    super(`the metadata index in ${dir} was written by a newer version of Layover (schema ${found}; this version reads schema ${SCHEMA_VERSION}): run that version, or move the data directory aside to start with an empty cache`);
    this.name = 'IndexTooNewError';
  }
}

/**
 * Opens the environment and its schema marker. A newer schema is refused
 * before any other database is opened (opening one may write), and the
 * environment is closed again.
 */
export async function openIndexDatabases(dir: string): Promise<{ databases: IndexDatabases; schema: number | undefined }> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await chmod(dir, PRIVATE_DIR_MODE);
  const root = open(environmentOptions(dir));
  const meta = root.openDB<MetaRecords[keyof MetaRecords], keyof MetaRecords>({ name: 'meta' });
  const schema = meta.get('schema') as number | undefined;
  if (schema !== undefined && schema > SCHEMA_VERSION) {
    await root.close();
    throw new IndexTooNewError(dir, schema);
  }
  const binary = { keyEncoding: 'binary', encoding: 'binary' } as const;
  const databases: IndexDatabases = {
    root,
    meta,
    blobs: new PackedDatabase(root.openDB({ name: 'blobs.2', ...binary }), DIGEST, BLOB),
    lru: new PackedDatabase(root.openDB({ name: 'lru.2', ...binary }), LRU_KEY, NOTHING),
    manifests: new PackedDatabase(root.openDB({ name: 'manifests.2', ...binary }), DIGEST, MANIFEST),
    repositories: root.openDB({ name: 'repositories' }),
    tags: new PackedDatabase(root.openDB({ name: 'tags.2', encoding: 'binary' }), sameKey<string>(), TAG),
    tagLists: root.openDB({ name: 'tag-lists' }),
    referrers: root.openDB({ name: 'referrers' }),
  };
  return { databases, schema };
}

/** The databases of schema 1 that schema 2 replaced, as that version wrote them: read once by the migration, then dropped. */
export interface SchemaOneDatabases {
  blobs: Database<BlobRecord, string>;
  manifests: Database<ManifestRecord, string>;
  tags: Database<TagRecord, string>;
  /** Not read (the eviction order is rebuilt from the blob records), only dropped. */
  lru: Database<null, [number, string]>;
}

export function openSchemaOneDatabases(root: RootDatabase): SchemaOneDatabases {
  return { blobs: root.openDB({ name: 'blobs' }), manifests: root.openDB({ name: 'manifests' }), tags: root.openDB({ name: 'tags' }), lru: root.openDB({ name: 'lru' }) };
}

/**
 * Writes that commit as ONE transaction: lmdb-js puts every write made in
 * one event turn into the same transaction, so the function that makes them
 * must not await. (Its transaction() is not used: when a commit fails, on a
 * full disk, it leaves an internal promise rejected and unhandled, which
 * would end the process.)
 */
export class OneTransaction {
  private readonly commits = new Set<Promise<unknown>>();

  put<V, K>(database: { put(key: K, value: V): Promise<boolean> }, key: K, value: V): void {
    this.commits.add(database.put(key, value));
  }

  remove<K>(database: { remove(key: K): Promise<boolean> }, key: K): void {
    this.commits.add(database.remove(key));
  }

  /** Deletes a whole named database, in the same transaction. */
  drop(database: Pick<Database, 'drop'>): void {
    this.commits.add(database.drop());
  }

  /** Resolves once committed; a failed commit rejects with its cause in words ("No space left on device"). */
  async committed(): Promise<void> {
    try {
      await Promise.all(this.commits);
    } catch (error) {
      throw await causeOf(error as Error & { commitError?: Promise<unknown> });
    }
  }
}

export async function commitAsOne(write: (txn: OneTransaction) => void): Promise<void> {
  const txn = new OneTransaction();
  write(txn);
  await txn.committed();
}

/** lmdb-js rejects a failed commit with "see commitError" and the cause on a promise that must be handled. */
async function causeOf(error: Error & { commitError?: Promise<unknown> }): Promise<Error> {
  if (!error.commitError) return error;
  const cause = await error.commitError.then(() => error, (reason: unknown) => reason as Error);
  return new Error(`the index commit failed: ${cause.message}`, { cause });
}

/**
 * Owner-only files (lmdb-js passes permissionsMode to LMDB although its
 * typings omit it, as it does noReadAhead: a read of one record does not
 * pull its neighbours from the disk into memory). overlappingSync is off: with it, a commit that failed on
 * a full disk leaves a flush pending forever and close() never returns, so a
 * stop would hang; without it each commit is flushed in lmdb-js's write
 * thread before it resolves, still off the main thread.
 */
/** Named databases of schema 2 (8), and room for schema 1's four while they are migrated. */
const MAX_DATABASES = 16;

function environmentOptions(dir: string): RootDatabaseOptionsWithPath {
  const options: RootDatabaseOptionsWithPath & { permissionsMode: number; noReadAhead: boolean } = { path: dir, permissionsMode: 0o600, maxDbs: MAX_DATABASES, overlappingSync: false, noReadAhead: true };
  return options;
}

/*
 * Keys. Registry names, repository names and tags never contain NUL (the OCI
 * grammar and host names exclude it), so NUL separates them and a
 * repository's tags sort together, right after "registry \0 repository \0".
 */
export function repositoryKey(registry: string, repository: string): string {
  return `${registry}\0${repository}`;
}

export function tagKey(registry: string, repository: string, tag: string): string {
  return `${registry}\0${repository}\0${tag}`;
}

/** The key range holding one repository's tags. */
export function tagRange(registry: string, repository: string): { start: string; end: string } {
  const key = repositoryKey(registry, repository);
  return { start: `${key}\0`, end: `${key}\u0001` };
}

export function splitRepositoryKey(key: string): { registry: string; repository: string } {
  const separator = key.indexOf('\0');
  return { registry: key.slice(0, separator), repository: key.slice(separator + 1) };
}

export function tagOfKey(key: string): string {
  return key.slice(key.lastIndexOf('\0') + 1);
}

/** Entries in a database, read from its B-tree header (no scan). */
export function entryCount(database: { getStats(): unknown }): number {
  return (database.getStats() as { entryCount: number }).entryCount;
}
