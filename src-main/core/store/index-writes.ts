import type { BlobRecord, IndexDatabases, ManifestRecord, MetaRecords, OneTransaction, ReferrersRecord, RepositoryEntry, TagList, TagRecord } from './index-db.js';

/** A removal in a batch of writes. */
export const REMOVED = null;
type Change<T> = T | typeof REMOVED;

/**
 * Changes not yet committed, by key: the last change of a key wins, so a
 * burst of access times for one blob becomes one write. Reads look here
 * before the database, so every change is visible at once.
 */
export class PendingWrites {
  readonly blobs = new Map<string, Change<BlobRecord>>();
  readonly manifests = new Map<string, Change<ManifestRecord>>();
  readonly repositories = new Map<string, RepositoryEntry>();
  readonly tags = new Map<string, TagRecord>();
  readonly tagLists = new Map<string, TagList>();
  readonly referrers = new Map<string, ReferrersRecord>();

  /** Records changed (a blob's record and its place in the eviction order count as one). */
  size(): number {
    return this.blobs.size + this.manifests.size + this.repositories.size + this.tags.size + this.tagLists.size + this.referrers.size;
  }

  isEmpty(): boolean {
    return this.size() === 0;
  }

  /** This batch with `newer` written over it: how a failed commit rejoins the changes made since. */
  overlaidWith(newer: PendingWrites): PendingWrites {
    const merged = new PendingWrites();
    for (const batch of [this, newer]) {
      for (const [key, value] of batch.blobs) merged.blobs.set(key, value);
      for (const [key, value] of batch.manifests) merged.manifests.set(key, value);
      for (const [key, value] of batch.repositories) merged.repositories.set(key, value);
      for (const [key, value] of batch.tags) merged.tags.set(key, value);
      for (const [key, value] of batch.tagLists) merged.tagLists.set(key, value);
      for (const [key, value] of batch.referrers) merged.referrers.set(key, value);
    }
    return merged;
  }

  /**
   * Writes the batch as one transaction. Usage is recomputed from the
   * records the batch replaces, as last committed (commits run one at a
   * time), so a batch retried after a failed commit counts every blob once.
   */
  writeTo(db: IndexDatabases, txn: OneTransaction): void {
    const usage = { ...((db.meta.get('usage') as MetaRecords['usage'] | undefined) ?? { bytes: 0, blobs: 0 }) };
    for (const [digest, next] of this.blobs) {
      const previous = db.blobs.get(digest);
      if (previous) {
        txn.remove(db.lru, [previous.lastAccess, digest]);
        usage.bytes -= previous.size;
        usage.blobs -= 1;
      }
      if (next) {
        txn.put(db.blobs, digest, next);
        txn.put(db.lru, [next.lastAccess, digest], null);
        usage.bytes += next.size;
        usage.blobs += 1;
      } else if (previous) {
        txn.remove(db.blobs, digest);
      }
    }
    txn.put(db.meta, 'usage', usage);
    for (const [digest, record] of this.manifests) {
      if (record) txn.put(db.manifests, digest, record);
      else txn.remove(db.manifests, digest);
    }
    for (const [key, entry] of this.repositories) txn.put(db.repositories, key, entry);
    for (const [key, record] of this.tags) txn.put(db.tags, key, record);
    for (const [key, list] of this.tagLists) txn.put(db.tagLists, key, list);
    for (const [key, record] of this.referrers) txn.put(db.referrers, key, record);
  }
}
