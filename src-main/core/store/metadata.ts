import { join } from 'node:path';
import type { BlobIndex, BlobStore, StoreUsage } from './blob-store.js';
import {
  commitAsOne, entryCount, openIndexDatabases, repositoryKey, splitRepositoryKey, tagKey, tagOfKey, tagRange,
  type BlobRecord, type IndexDatabases, type ManifestRecord, type MetaRecords, type ReferrersRecord, type TagList, type TagRecord,
} from './index-db.js';
import { folderRange, RawBound } from './index-codecs.js';
import { finishImport, importOldDataDir } from './index-import.js';
import { migrateIndex } from './index-migrate.js';
import { PendingWrites, REMOVED } from './index-writes.js';

export { IndexTooNewError, type BlobRecord, type ManifestRecord, type ReferrersRecord, type TagRecord } from './index-db.js';

export interface RepositoryRecord {
  tags: Record<string, TagRecord>;
  /** The upstream's full tag list, kept for offline tags/list. */
  tagList?: TagList;
  lastAccess: number;
}

export interface RepositoryName {
  registry: string;
  repository: string;
}

export interface LoadOptions {
  /** The blob files, for the one import of a data directory that has none in its index yet. */
  store?: Pick<BlobStore, 'digestsByFolder' | 'pathOf'>;
  /** Progress of that import, in words (layover serve logs it). */
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

const INDEX_DIR = 'index';
/** Repository names one dashboard search reads at most per call (a page of matches, or a cursor to go on). */
const SEARCH_SCAN_LIMIT = 20_000;
/** Tags, manifests and blob records are written soon after they change: a kill -9 loses at most this much of them. */
const RECORD_FLUSH_DELAY_MS = 100;
/** Access times only steer eviction: a second of them is gathered into one write. */
const ACCESS_FLUSH_DELAY_MS = 1000;

/**
 * What the cache knows beyond the bytes: tags, tag lists, media types, blob
 * sizes and access times, in an embedded database (see index-db.ts). Reads
 * are synchronous and read only what they are asked for; changes are visible
 * at once and written in batches (records within 100 ms, access times within
 * a second), each batch one transaction, never a rewrite of the whole index.
 */
export class MetadataIndex implements BlobIndex {
  readonly dir: string;
  private db?: IndexDatabases;
  private pending = new PendingWrites();
  /** The batch being committed: still read from until the commit lands. */
  private committing?: { batch: PendingWrites; done: Promise<void> };
  private flushTimer?: NodeJS.Timeout;
  private flushDueAt = Infinity;
  private readonly liveUsage: StoreUsage = { bytes: 0, blobs: 0 };
  /** What the flushes wrote: commits, and records in them (a hit writes its own record, never the index). */
  readonly writes = { commits: 0, records: 0 };

  constructor(readonly dataDir: string) {
    this.dir = join(dataDir, INDEX_DIR);
  }

  /**
   * Opens the index. The first start on a data directory from before the
   * index imports its metadata.json and its blob files in one transaction
   * (see index-import.ts); an index of an older layout is moved to this
   * one, also in one transaction (index-migrate.ts); a data directory from a
   * newer version is refused.
   */
  async load(options: LoadOptions = {}): Promise<void> {
    const { databases, schema } = await openIndexDatabases(this.dir);
    try {
      if (schema === undefined) await importOldDataDir(databases, this.dataDir, options);
      else {
        await migrateIndex(databases, schema, options.log);
        await finishImport(databases, this.dataDir, options.log);
      }
    } catch (error) {
      await databases.root.close();
      throw error;
    }
    this.db = databases;
    Object.assign(this.liveUsage, (databases.meta.get('usage') as MetaRecords['usage'] | undefined) ?? { bytes: 0, blobs: 0 });
  }

  // ---------------------------------------------------------------- reads

  repository(registry: string, repository: string): RepositoryRecord | undefined {
    const key = repositoryKey(registry, repository);
    const entry = this.read((batch) => batch.repositories.get(key), (db) => db.repositories.get(key));
    if (!entry) return undefined;
    const tagList = this.getTagList(registry, repository);
    return { tags: this.tagsOf(registry, repository), lastAccess: entry.lastAccess, ...(tagList ? { tagList } : {}) };
  }

  /** The repositories the cache holds something of, by name only: their tags are read with repository(). */
  repositories(): RepositoryName[] {
    const keys = new Set(this.db ? this.db.repositories.getKeys() : []);
    for (const batch of this.batches()) for (const key of batch.repositories.keys()) keys.add(key);
    return [...keys].sort().map(splitRepositoryKey);
  }

  /**
   * One page of the repositories the cache holds, in name order, for the
   * dashboard: those of `registry` (all when absent) whose name contains
   * `query` (any case), after the cursor of the previous page, as last
   * committed (a new repository shows within 100 ms). A call reads
   * at most SEARCH_SCAN_LIMIT names, however large the cache: a search that
   * has not filled its page by then returns what it found and a cursor to go on.
   */
  repositoryPage(args: { registry?: string; query?: string; after?: string; limit: number }): { repositories: Array<RepositoryName & { cachedTags: number; lastAccess: number }>; next?: string } {
    if (!this.db) return { repositories: [] };
    const query = args.query?.trim().toLowerCase() ?? '';
    const prefix = args.registry === undefined ? '' : `${args.registry}\0`;
    const start = args.after ?? prefix;
    const end = args.registry === undefined ? undefined : `${args.registry}\u0001`;
    const found: string[] = [];
    let scanned = 0;
    let last: string | undefined;
    for (const key of this.db.repositories.getKeys({ start, ...(end ? { end } : {}) })) {
      if (key === args.after) continue;
      if (found.length === args.limit || scanned === SEARCH_SCAN_LIMIT) return { repositories: found.map((k) => this.pageEntry(k)), next: last ?? key };
      scanned += 1;
      last = key;
      if (!query || splitRepositoryKey(key).repository.toLowerCase().includes(query)) found.push(key);
    }
    return { repositories: found.map((k) => this.pageEntry(k)) };
  }

  private pageEntry(key: string): RepositoryName & { cachedTags: number; lastAccess: number } {
    const { registry, repository } = splitRepositoryKey(key);
    const cachedTags = this.db ? this.db.tags.getCount(tagRange(registry, repository)) : 0;
    return { registry, repository, cachedTags, lastAccess: this.db?.repositories.get(key)?.lastAccess ?? 0 };
  }

  repositoryCount(): number {
    const committed = this.db ? entryCount(this.db.repositories) : 0;
    const added = new Set<string>();
    for (const batch of this.batches()) for (const key of batch.repositories.keys()) if (!this.db?.repositories.doesExist(key)) added.add(key);
    return committed + added.size;
  }

  getTag(registry: string, repository: string, tag: string): TagRecord | undefined {
    const key = tagKey(registry, repository, tag);
    return this.read((batch) => batch.tags.get(key), (db) => db.tags.get(key));
  }

  getTagList(registry: string, repository: string): TagList | undefined {
    const key = repositoryKey(registry, repository);
    return this.read((batch) => batch.tagLists.get(key), (db) => db.tagLists.get(key));
  }

  /** A subject's cached referrers (core/fetch/referrers.ts). */
  getReferrers(registry: string, repository: string, subject: string): ReferrersRecord | undefined {
    const key = tagKey(registry, repository, subject);
    return this.read((batch) => batch.referrers.get(key), (db) => db.referrers.get(key));
  }

  getManifest(digest: string): ManifestRecord | undefined {
    return this.read((batch) => batch.manifests.get(digest), (db) => db.manifests.get(digest)) ?? undefined;
  }

  /** The store's record of a blob: its size and last access. */
  blob(digest: string): BlobRecord | undefined {
    return this.read((batch) => batch.blobs.get(digest), (db) => db.blobs.get(digest)) ?? undefined;
  }

  lastAccess(digest: string): number | undefined {
    return this.blob(digest)?.lastAccess;
  }

  usage(): Readonly<StoreUsage> {
    return this.liveUsage;
  }

  /**
   * Up to `limit` blobs, least recently used first, from the ordered index
   * as last committed (flush() first to include the latest access times);
   * `after` continues from the last entry of the previous page.
   */
  oldestBlobs(limit: number, after?: { lastAccess: number; digest: string }): Array<{ digest: string; lastAccess: number }> {
    if (!this.db) return [];
    const start: [number, string] | undefined = after && [after.lastAccess, after.digest];
    const page = [...this.db.lru.getKeys({ ...(start ? { start } : {}), limit: limit + 1 })]
      .filter((key) => !start || key[0] !== start[0] || key[1] !== start[1])
      .slice(0, limit);
    return page.map(([lastAccess, digest]) => ({ digest, lastAccess }));
  }

  /** The blob digests whose key starts with `folder` ("sha256:ab"), in digest order, as last committed: one folder of the background check. */
  blobDigestsIn(folder: string): string[] {
    if (!this.db) return [];
    const { start, end } = folderRange(folder);
    return [...this.db.blobs.getKeys({ start: new RawBound(start), end: new RawBound(end) })];
  }

  /** The first folder ("sha256:ab") after `after` that holds a committed blob record: a skip over the index, one key per folder. */
  nextBlobFolder(after?: string): string | undefined {
    if (!this.db) return undefined;
    const [digest] = this.db.blobs.getKeys({ ...(after ? { start: new RawBound(folderRange(after).end) } : {}), limit: 1 });
    return digest === undefined ? undefined : digest.slice(0, digest.indexOf(':') + 3);
  }

  /** Up to `limit` blob digests in digest order after `after`, as last committed: the background check's pages. */
  blobDigests(limit: number, after?: string): string[] {
    if (!this.db) return [];
    return [...this.db.blobs.getKeys({ ...(after ? { start: after } : {}), limit: limit + 1 })].filter((digest) => digest !== after).slice(0, limit);
  }

  // --------------------------------------------------------------- writes

  setTag(registry: string, repository: string, tag: string, record: TagRecord): void {
    this.ensureRepository(registry, repository);
    this.pending.tags.set(tagKey(registry, repository, tag), record);
    this.changed(RECORD_FLUSH_DELAY_MS);
  }

  setTagList(registry: string, repository: string, tags: string[], fetchedAt: number): void {
    this.ensureRepository(registry, repository);
    this.pending.tagLists.set(repositoryKey(registry, repository), { tags, fetchedAt });
    this.changed(RECORD_FLUSH_DELAY_MS);
  }

  setReferrers(registry: string, repository: string, subject: string, record: ReferrersRecord): void {
    this.ensureRepository(registry, repository);
    this.pending.referrers.set(tagKey(registry, repository, subject), record);
    this.changed(RECORD_FLUSH_DELAY_MS);
  }

  setManifest(digest: string, record: ManifestRecord): void {
    this.pending.manifests.set(digest, record);
    this.changed(RECORD_FLUSH_DELAY_MS);
  }

  /** A verified blob arrived in the store (or the background check found one the index lacked). */
  addBlob(digest: string, size: number, lastAccess = Date.now()): void {
    const previous = this.blob(digest);
    this.setBlob(digest, previous, { size, lastAccess: previous?.lastAccess ?? lastAccess });
    this.changed(RECORD_FLUSH_DELAY_MS);
  }

  removeBlob(digest: string): void {
    const previous = this.blob(digest);
    if (!previous) return;
    this.setBlob(digest, previous, REMOVED);
    this.changed(RECORD_FLUSH_DELAY_MS);
  }

  /** A client or prefetch read the blob: it moves to the back of the eviction order (batched, see ACCESS_FLUSH_DELAY_MS). */
  touch(digest: string, registry?: string, repository?: string, at = Date.now()): void {
    const previous = this.blob(digest);
    if (previous && previous.lastAccess !== at) this.pending.blobs.set(digest, { size: previous.size, lastAccess: at });
    if (registry && repository) this.pending.repositories.set(repositoryKey(registry, repository), { lastAccess: at });
    this.changed(ACCESS_FLUSH_DELAY_MS);
  }

  /** Forgets a blob that was evicted or found missing. */
  forget(digest: string): void {
    this.removeBlob(digest);
    if (this.getManifest(digest)) this.pending.manifests.set(digest, REMOVED);
    this.changed(RECORD_FLUSH_DELAY_MS);
  }

  async close(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const db = this.db;
    try {
      await this.flush();
    } finally {
      this.db = undefined;
      await db?.root.close();
    }
  }

  /**
   * Commits what changed, as one transaction. Commits run one at a time; a
   * failed one (a full disk) keeps its changes for the next flush, under
   * whatever changed since.
   */
  async flush(): Promise<void> {
    while (this.committing) await this.committing.done.catch(() => undefined);
    const db = this.db;
    if (!db || this.pending.isEmpty()) return;
    const batch = this.pending;
    this.pending = new PendingWrites();
    const done = commitAsOne((txn) => batch.writeTo(db, txn));
    this.committing = { batch, done };
    try {
      await done;
      this.writes.commits += 1;
      this.writes.records += batch.size();
    } catch (error) {
      this.pending = batch.overlaidWith(this.pending);
      throw error;
    } finally {
      this.committing = undefined;
    }
  }

  // -------------------------------------------------------------- helpers

  /** The newest value of a record: pending changes, then the batch being committed, then the database. */
  private read<T>(fromBatch: (batch: PendingWrites) => T | undefined, fromDb: (db: IndexDatabases) => T | undefined): T | undefined {
    for (const batch of this.batches()) {
      const value = fromBatch(batch);
      if (value !== undefined) return value;
    }
    return this.db ? fromDb(this.db) : undefined;
  }

  /** Newest first. */
  private batches(): PendingWrites[] {
    return this.committing ? [this.pending, this.committing.batch] : [this.pending];
  }

  private tagsOf(registry: string, repository: string): Record<string, TagRecord> {
    const tags: Record<string, TagRecord> = {};
    for (const { key, value } of this.db?.tags.getRange(tagRange(registry, repository)) ?? []) setOwnValue(tags, tagOfKey(key), value);
    const { start } = tagRange(registry, repository);
    for (const batch of this.batches().reverse()) {
      for (const [key, record] of batch.tags) if (key.startsWith(start)) setOwnValue(tags, tagOfKey(key), record);
    }
    return tags;
  }

  private ensureRepository(registry: string, repository: string): void {
    const key = repositoryKey(registry, repository);
    if (this.read((batch) => batch.repositories.get(key), (db) => db.repositories.get(key))) return;
    this.pending.repositories.set(key, { lastAccess: Date.now() });
  }

  private setBlob(digest: string, previous: BlobRecord | undefined, next: BlobRecord | typeof REMOVED): void {
    this.liveUsage.bytes += (next?.size ?? 0) - (previous?.size ?? 0);
    this.liveUsage.blobs += (next ? 1 : 0) - (previous ? 1 : 0);
    this.pending.blobs.set(digest, next);
  }

  /** Schedules a flush within `delayMs`, sooner if one is already due sooner. */
  private changed(delayMs: number): void {
    const dueAt = Date.now() + delayMs;
    if (this.flushTimer && this.flushDueAt <= dueAt) return;
    clearTimeout(this.flushTimer);
    this.flushDueAt = dueAt;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flushDueAt = Infinity;
      this.flush().catch((error) => console.error(`layover: could not save the metadata index in ${this.dir}: ${(error as Error).message}`));
    }, delayMs);
    this.flushTimer.unref();
  }
}

/*
 * Tags such as "__proto__" are valid in the OCI grammar, so records keyed by
 * names are written as own properties only, never through the prototype's
 * accessors.
 */
function setOwnValue<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}
