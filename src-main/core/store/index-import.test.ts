/**
 * The first start on a data directory from before the index: metadata.json
 * and the blob files go into the index once, and the old file is kept aside.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rename, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '../../../test/support/process.js';
import { BlobStore } from './blob-store.js';
import { digestOf } from './digest.js';
import { MetadataIndex } from './metadata.js';

interface Started {
  index: MetadataIndex;
  store: BlobStore;
  logged: string[];
}

async function start(dir: string): Promise<Started> {
  const index = new MetadataIndex(dir);
  const store = new BlobStore(dir, index);
  const logged: string[] = [];
  await store.open();
  await index.load({ store, log: (message) => logged.push(message) });
  return { index, store, logged };
}

/** A data directory as the version before the index left it: blob files and metadata.json. */
async function oldDataDir(dir: string) {
  const layer = Buffer.from('a layer that was pulled once');
  const manifest = Buffer.from('{"schemaVersion":2}');
  const [layerDigest, manifestDigest] = [digestOf(layer), digestOf(manifest)];
  const plain = new BlobStore(dir);
  await plain.open();
  await plain.put(layerDigest, layer);
  await plain.put(manifestDigest, manifest);
  await utimes(plain.pathOf(layerDigest), 1_000, 1_000); // never read since: counts from its file time
  const metadata = {
    version: 1,
    registries: {
      'docker.io': {
        'library/alpine': {
          // JSON.parse makes "__proto__" an own key, as the old version's file could hold it.
          tags: JSON.parse(JSON.stringify({ latest: { digest: manifestDigest, mediaType: 'application/vnd.oci.image.manifest.v1+json', checkedAt: 7 } }).replace('{', `{"__proto__":{"digest":"${manifestDigest}","mediaType":"m","checkedAt":8},`)) as object,
          tagList: { tags: ['3.20', 'latest'], fetchedAt: 9 },
          lastAccess: 10,
        },
      },
      'dtr.example.com': { 'eng/app': { tags: {}, lastAccess: 11 } },
    },
    manifests: { [manifestDigest]: { mediaType: 'application/vnd.oci.image.manifest.v1+json', size: manifest.length } },
    access: { [manifestDigest]: 2_000_000 },
  };
  const text = JSON.stringify(metadata);
  await writeFile(join(dir, 'metadata.json'), text);
  return { text, layerDigest, manifestDigest, bytes: layer.length + manifest.length };
}

test('the first start imports metadata.json and the blob files, then keeps the old file aside', async () => {
  const dir = await makeTempDir('import');
  try {
    const old = await oldDataDir(dir);
    const { index, logged } = await start(dir);
    try {
      assert.deepEqual(Object.keys(index.repository('docker.io', 'library/alpine')?.tags ?? {}).sort(), ['__proto__', 'latest']);
      assert.deepEqual(index.getTagList('docker.io', 'library/alpine'), { tags: ['3.20', 'latest'], fetchedAt: 9 });
      assert.equal(index.getManifest(old.manifestDigest)?.size, Buffer.byteLength('{"schemaVersion":2}'));
      assert.deepEqual(index.repositories().map((r) => `${r.registry}/${r.repository}`), ['docker.io/library/alpine', 'dtr.example.com/eng/app']);
      assert.deepEqual(index.usage(), { bytes: old.bytes, blobs: 2 }, 'the blob files are counted once, at the import');
      assert.equal(index.lastAccess(old.manifestDigest), 2_000_000, 'a recorded access time is kept');
      assert.equal(index.lastAccess(old.layerDigest), 1_000_000, 'a blob never read counts from its file time');
      assert.deepEqual(index.oldestBlobs(2).map((entry) => entry.digest), [old.layerDigest, old.manifestDigest]);
      assert.equal(await readFile(join(dir, 'metadata.json.imported'), 'utf8'), old.text, 'the old file is kept, byte for byte');
      assert.equal(await stat(join(dir, 'metadata.json')).catch(() => undefined), undefined);
      assert.deepEqual(logged, ['importing the data directory into the metadata index', 'imported the data directory into the metadata index']);
    } finally {
      await index.close();
    }
    const again = await start(dir);
    assert.deepEqual(again.logged, [], 'the next start imports nothing');
    assert.deepEqual(again.index.usage(), { bytes: old.bytes, blobs: 2 });
    await again.index.close();
  } finally {
    await removeTempDir(dir);
  }
});

test('a crash between the import and the rename: the next start renames the imported file, and imports nothing twice', async () => {
  const dir = await makeTempDir('import-rename');
  try {
    const old = await oldDataDir(dir);
    await (await start(dir)).index.close();
    await rename(join(dir, 'metadata.json.imported'), join(dir, 'metadata.json')); // as if killed before the rename
    const { index, logged } = await start(dir);
    assert.deepEqual(logged, []);
    assert.deepEqual(index.usage(), { bytes: old.bytes, blobs: 2 });
    assert.equal(await readFile(join(dir, 'metadata.json.imported'), 'utf8'), old.text);
    await index.close();
  } finally {
    await removeTempDir(dir);
  }
});

test('a metadata.json put back after the import is left alone, with a word in the log', async () => {
  const dir = await makeTempDir('import-again');
  try {
    await oldDataDir(dir);
    await (await start(dir)).index.close();
    const other = JSON.stringify({ version: 1, registries: { 'docker.io': { 'library/other': { tags: {}, lastAccess: 1 } } }, manifests: {}, access: {} });
    await writeFile(join(dir, 'metadata.json'), other);
    const { index, logged } = await start(dir);
    assert.equal(index.repository('docker.io', 'library/other'), undefined);
    assert.match(logged.join('\n'), /metadata\.json is not read/);
    assert.equal(await readFile(join(dir, 'metadata.json'), 'utf8'), other);
    await index.close();
  } finally {
    await removeTempDir(dir);
  }
});

test('a fresh data directory starts with an empty index and logs nothing', async () => {
  const dir = await makeTempDir('import-fresh');
  try {
    const { index, logged } = await start(dir);
    assert.deepEqual(logged, []);
    assert.deepEqual(index.usage(), { bytes: 0, blobs: 0 });
    assert.deepEqual((await readdir(dir)).sort(), ['blobs', 'index', 'ingest']);
    await index.close();
  } finally {
    await removeTempDir(dir);
  }
});
