import { commitAsOne, entryCount, openSchemaOneDatabases, SCHEMA_VERSION, type IndexDatabases } from './index-db.js';

type Log = (message: string, fields?: Record<string, unknown>) => void;

/**
 * Moves an index of an older layout to this version's, once: schema 1's
 * blob, manifest and tag records (MessagePack, keyed by hex digests) are
 * rewritten packed (index-codecs.ts), the eviction order is rebuilt from the
 * blob records, the old databases are dropped and the schema marker set,
 * all in ONE transaction. A kill -9 before its commit leaves schema 1 as it
 * was, and the next start migrates again from the start; after it, nothing of
 * schema 1 is left to read. Repositories, tag lists and referrers keep their
 * layout. An index already of this layout is left alone.
 */
export async function migrateIndex(db: IndexDatabases, schema: number, log?: Log): Promise<void> {
  if (schema >= SCHEMA_VERSION) return;
  if (schema !== 1) throw new Error(`the metadata index has schema ${schema}, which no version of Layover wrote; move the data directory aside to start with an empty cache`);
  const old = openSchemaOneDatabases(db.root);
  const counts = { blobs: entryCount(old.blobs), manifests: entryCount(old.manifests), tags: entryCount(old.tags) };
  log?.('moving the metadata index to its compact layout (schema 2)', counts);
  await commitAsOne((txn) => {
    for (const { key, value } of old.blobs.getRange()) {
      txn.put(db.blobs, key, { size: value.size, lastAccess: value.lastAccess });
      txn.put(db.lru, [value.lastAccess, key], null);
    }
    for (const { key, value } of old.manifests.getRange()) txn.put(db.manifests, key, { mediaType: value.mediaType, size: value.size });
    for (const { key, value } of old.tags.getRange()) txn.put(db.tags, key, { digest: value.digest, mediaType: value.mediaType, checkedAt: value.checkedAt });
    for (const database of [old.blobs, old.lru, old.manifests, old.tags]) txn.drop(database);
    txn.put(db.meta, 'schema', SCHEMA_VERSION);
  });
  log?.('moved the metadata index to its compact layout (schema 2)', counts);
}
