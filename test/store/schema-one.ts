/**
 * An index as Layover wrote it before schema 2 (MessagePack records keyed by
 * hex digests, in the databases blobs, lru, manifests and tags), written with
 * lmdb directly: what a data directory of that version holds on disk.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { open } from 'lmdb';

export interface SchemaOneContent {
  blobs: Array<{ digest: string; size: number; lastAccess: number }>;
  manifests: Array<{ digest: string; mediaType: string; size: number }>;
  /** registry, repository, tag and the record. */
  tags: Array<{ registry: string; repository: string; tag: string; digest: string; mediaType: string; checkedAt: number }>;
  tagLists?: Array<{ registry: string; repository: string; tags: string[]; fetchedAt: number }>;
}

/** Writes `content` as a schema-1 index under <dataDir>/index, in transactions of `perCommit` records. */
export async function writeSchemaOneIndex(dataDir: string, content: SchemaOneContent, perCommit = 20_000): Promise<void> {
  const dir = join(dataDir, 'index');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const root = open({ path: dir, maxDbs: 8, overlappingSync: false });
  try {
    const db = {
      meta: root.openDB<unknown, string>({ name: 'meta' }),
      blobs: root.openDB<unknown, string>({ name: 'blobs' }),
      lru: root.openDB<unknown, [number, string]>({ name: 'lru' }),
      manifests: root.openDB<unknown, string>({ name: 'manifests' }),
      repositories: root.openDB<unknown, string>({ name: 'repositories' }),
      tags: root.openDB<unknown, string>({ name: 'tags' }),
      tagLists: root.openDB<unknown, string>({ name: 'tag-lists' }),
      referrers: root.openDB<unknown, string>({ name: 'referrers' }),
    };
    const writes: Array<() => Promise<boolean>> = [];
    for (const blob of content.blobs) {
      writes.push(() => db.blobs.put(blob.digest, { size: blob.size, lastAccess: blob.lastAccess }));
      writes.push(() => db.lru.put([blob.lastAccess, blob.digest], null));
    }
    for (const manifest of content.manifests) writes.push(() => db.manifests.put(manifest.digest, { mediaType: manifest.mediaType, size: manifest.size }));
    const repositories = new Set<string>();
    for (const tag of content.tags) {
      repositories.add(`${tag.registry}\0${tag.repository}`);
      writes.push(() => db.tags.put(`${tag.registry}\0${tag.repository}\0${tag.tag}`, { digest: tag.digest, mediaType: tag.mediaType, checkedAt: tag.checkedAt }));
    }
    for (const list of content.tagLists ?? []) {
      repositories.add(`${list.registry}\0${list.repository}`);
      writes.push(() => db.tagLists.put(`${list.registry}\0${list.repository}`, { tags: list.tags, fetchedAt: list.fetchedAt }));
    }
    for (const key of repositories) writes.push(() => db.repositories.put(key, { lastAccess: 5 }));
    const usage = { bytes: content.blobs.reduce((sum, blob) => sum + blob.size, 0), blobs: content.blobs.length };
    writes.push(() => db.meta.put('usage', usage), () => db.meta.put('schema', 1));
    for (let first = 0; first < writes.length; first += perCommit) await Promise.all(writes.slice(first, first + perCommit).map((write) => write()));
  } finally {
    await root.close();
  }
}
