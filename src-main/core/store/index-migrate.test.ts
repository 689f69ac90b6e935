/**
 * An index of schema 1 (the landed version's layout) is moved to the packed
 * layout of schema 2 on the first start, once: every record reads back the
 * same, the eviction order is whole, and the old databases are gone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { open } from 'lmdb';
import { makeTempDir, removeTempDir } from '../../../test/support/process.js';
import { writeSchemaOneIndex, type SchemaOneContent } from '../../../test/store/schema-one.js';
import { digestKey, digestOfKey, folderRange, MANIFEST, TAG } from './index-codecs.js';
import { SCHEMA_VERSION } from './index-db.js';
import { MetadataIndex } from './metadata.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const digest = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;

async function load(dataDir: string): Promise<{ index: MetadataIndex; logged: string[] }> {
  const index = new MetadataIndex(dataDir);
  const logged: string[] = [];
  await index.load({ log: (message) => logged.push(message) });
  return { index, logged };
}

function schemaOf(dataDir: string): { schema: unknown; names: string[] } {
  const root = open({ path: join(dataDir, 'index'), maxDbs: 16, readOnly: true });
  try {
    return { schema: root.openDB({ name: 'meta' }).get('schema'), names: [...root.getKeys()].map(String).sort() };
  } finally {
    void root.close();
  }
}

const CONTENT: SchemaOneContent = {
  blobs: [
    { digest: digest(3), size: 300, lastAccess: 30 },
    { digest: digest(1), size: 100, lastAccess: 50 },
    { digest: digest(2), size: 200, lastAccess: 10 },
    { digest: `sha512:${'ab'.repeat(64)}`, size: 7, lastAccess: 20 },
  ],
  manifests: [
    { digest: digest(1), mediaType: OCI_MANIFEST, size: 100 },
    { digest: digest(2), mediaType: 'application/vnd.example.unknown+json', size: 200 },
  ],
  tags: [
    { registry: 'docker.io', repository: 'library/alpine', tag: 'latest', digest: digest(1), mediaType: OCI_MANIFEST, checkedAt: 7 },
    { registry: 'docker.io', repository: 'library/alpine', tag: '__proto__', digest: digest(2), mediaType: 'application/vnd.example.unknown+json', checkedAt: 8 },
    { registry: 'ghcr.io', repository: 'org/tool', tag: 'v1', digest: digest(1), mediaType: OCI_MANIFEST, checkedAt: 9 },
  ],
  tagLists: [{ registry: 'docker.io', repository: 'library/alpine', tags: ['3.20', 'latest'], fetchedAt: 11 }],
};

test('a schema-1 index is moved to the packed layout on the first start: every record, the eviction order and usage read back the same', async () => {
  const dir = await makeTempDir('migrate');
  try {
    await writeSchemaOneIndex(dir, CONTENT);
    const { index, logged } = await load(dir);
    try {
      assert.deepEqual(logged, ['moving the metadata index to its compact layout (schema 2)', 'moved the metadata index to its compact layout (schema 2)']);
      for (const blob of CONTENT.blobs) assert.deepEqual(index.blob(blob.digest), { size: blob.size, lastAccess: blob.lastAccess }, blob.digest);
      assert.deepEqual(index.oldestBlobs(10).map((b) => b.digest), [digest(2), `sha512:${'ab'.repeat(64)}`, digest(3), digest(1)], 'the eviction order is rebuilt whole');
      assert.deepEqual(index.usage(), { bytes: 607, blobs: 4 });
      assert.deepEqual(index.getManifest(digest(1)), { mediaType: OCI_MANIFEST, size: 100 });
      assert.deepEqual(index.getManifest(digest(2)), { mediaType: 'application/vnd.example.unknown+json', size: 200 });
      const alpine = index.repository('docker.io', 'library/alpine');
      assert.deepEqual(alpine?.tags.latest, { digest: digest(1), mediaType: OCI_MANIFEST, checkedAt: 7 });
      assert.deepEqual(Object.getOwnPropertyDescriptor(alpine?.tags, '__proto__')?.value, { digest: digest(2), mediaType: 'application/vnd.example.unknown+json', checkedAt: 8 });
      assert.deepEqual(alpine?.tagList, { tags: ['3.20', 'latest'], fetchedAt: 11 });
      assert.deepEqual(index.getTag('ghcr.io', 'org/tool', 'v1'), { digest: digest(1), mediaType: OCI_MANIFEST, checkedAt: 9 });
      assert.deepEqual(index.blobDigestsIn('sha256:00'), [digest(1), digest(2), digest(3)]);
      assert.deepEqual(index.blobDigestsIn('sha512:ab'), [`sha512:${'ab'.repeat(64)}`]);
      assert.equal(index.nextBlobFolder('sha256:00'), 'sha512:ab');
      assert.equal(index.repositoryCount(), 2);
    } finally {
      await index.close();
    }
    const after = schemaOf(dir);
    assert.equal(after.schema, SCHEMA_VERSION);
    for (const old of ['blobs', 'lru', 'manifests', 'tags']) {
      assert.ok(!after.names.includes(old), `schema 1's ${old} is dropped`);
      assert.ok(after.names.includes(`${old}.2`), `schema 2's ${old}.2 is there`);
    }

    const again = await load(dir);
    try {
      assert.deepEqual(again.logged, [], 'migrated once, never again');
      assert.equal(again.index.blob(digest(1))?.size, 100);
    } finally {
      await again.index.close();
    }
  } finally {
    await removeTempDir(dir);
  }
});

test('packed records: a digest key sorts as its text, and unusual digests and media types survive as text', () => {
  const digests = [digest(0xff), digest(1), `sha256:${'f'.repeat(64)}`, `sha512:${'0'.repeat(128)}`, digest(0x1000)];
  const byKey = [...digests].sort((a, b) => Buffer.compare(digestKey(a), digestKey(b)));
  assert.deepEqual(byKey, [...digests].sort());
  for (const d of [...digests, 'sha256:NOT-HEX', 'md5:abc']) assert.equal(digestOfKey(digestKey(d)), d);
  assert.equal(digestKey(digest(1)).length, 33, 'a sha256 digest is 33 bytes, not 71');
  const ff = folderRange('sha256:ff');
  assert.ok(Buffer.compare(digestKey(`sha256:${'f'.repeat(64)}`), ff.end) < 0 && Buffer.compare(digestKey(`sha256:${'f'.repeat(64)}`), ff.start) >= 0);
  assert.deepEqual(MANIFEST.decode(MANIFEST.encode({ mediaType: '', size: 0 })), { mediaType: '', size: 0 });
  const odd = { digest: 'sha256:short', mediaType: 'text/x-ünïcode', checkedAt: Date.now() };
  assert.deepEqual(TAG.decode(TAG.encode(odd)), odd);
});
