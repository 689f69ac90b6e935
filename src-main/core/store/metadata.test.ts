/**
 * The metadata index in its embedded database: reads see changes at once,
 * a hit writes its own record (batched), eviction reads an order, and the
 * files are the owner's alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { open } from 'lmdb';
import { makeTempDir, removeTempDir } from '../../../test/support/process.js';
import { BlobStore } from './blob-store.js';
import { digestOf } from './digest.js';
import { IndexTooNewError, MetadataIndex } from './metadata.js';

async function withIndex(run: (index: MetadataIndex, dir: string) => Promise<void>): Promise<void> {
  const dir = await makeTempDir('index');
  const index = new MetadataIndex(dir);
  try {
    await index.load();
    await run(index, dir);
  } finally {
    await index.close();
    await removeTempDir(dir);
  }
}

async function reopened(dir: string): Promise<MetadataIndex> {
  const index = new MetadataIndex(dir);
  await index.load();
  return index;
}

const digest = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;
const tag = (d: string, checkedAt = 1) => ({ digest: d, mediaType: 'application/vnd.oci.image.manifest.v1+json', checkedAt });

test('changes are read back at once and after a reopen: tags, tag lists, manifests, blobs and usage', async () => {
  await withIndex(async (index, dir) => {
    index.setTag('docker.io', 'library/alpine', 'latest', tag(digest(1)));
    index.setTag('docker.io', 'library/alpine', '__proto__', tag(digest(2)));
    index.setTagList('docker.io', 'library/alpine', ['3.20', 'latest'], 5);
    index.setManifest(digest(1), { mediaType: 'm', size: 10 });
    index.addBlob(digest(1), 10);
    index.addBlob(digest(3), 1000);
    assert.equal(index.getTag('docker.io', 'library/alpine', 'latest')?.digest, digest(1), 'visible before any write');
    assert.deepEqual(index.usage(), { bytes: 1010, blobs: 2 });
    await index.close();

    const again = await reopened(dir);
    try {
      const record = again.repository('docker.io', 'library/alpine');
      assert.deepEqual(Object.keys(record?.tags ?? {}).sort(), ['__proto__', 'latest']);
      assert.equal(Object.getPrototypeOf(record!.tags), Object.prototype, 'a tag named __proto__ is plain data');
      assert.deepEqual(record?.tagList, { tags: ['3.20', 'latest'], fetchedAt: 5 });
      assert.deepEqual(again.getManifest(digest(1)), { mediaType: 'm', size: 10 });
      assert.deepEqual(again.usage(), { bytes: 1010, blobs: 2 }, 'usage comes from the index, with no walk of the files');
      assert.deepEqual(again.repositories(), [{ registry: 'docker.io', repository: 'library/alpine' }]);
      assert.equal(again.repositoryCount(), 1);
      assert.equal(again.getTag('docker.io', 'library/alpine', 'constructor'), undefined);
    } finally {
      await again.close();
    }
  });
});

test('a thousand hits on one blob are one commit of its own record, not a rewrite of the index', async () => {
  await withIndex(async (index) => {
    for (let n = 0; n < 2_000; n++) index.addBlob(digest(n), 100);
    for (let n = 0; n < 200; n++) index.setTag('docker.io', `team/app-${n}`, 'v1', tag(digest(n)));
    await index.flush();
    const before = { ...index.writes };
    for (let hit = 0; hit < 1_000; hit++) index.touch(digest(7), 'docker.io', 'team/app-7', 10_000 + hit);
    await index.flush();
    assert.deepEqual({ commits: index.writes.commits - before.commits, records: index.writes.records - before.records }, { commits: 1, records: 2 }, 'one commit: the blob and its repository');
    assert.equal(index.lastAccess(digest(7)), 10_999);
    assert.deepEqual(index.usage(), { bytes: 200_000, blobs: 2_000 }, 'an access time changes no usage');
  });
});

test('eviction reads blobs least recently used first, in pages, with the latest access times', async () => {
  await withIndex(async (index) => {
    for (let n = 0; n < 10; n++) index.addBlob(digest(n), 1, 1_000 + n);
    index.touch(digest(0), undefined, undefined, 5_000);
    index.touch(digest(5), undefined, undefined, 500);
    await index.flush();
    const first = index.oldestBlobs(4);
    assert.deepEqual(first.map((entry) => entry.digest), [digest(5), digest(1), digest(2), digest(3)]);
    const rest = index.oldestBlobs(100, first.at(-1));
    assert.deepEqual(rest.map((entry) => entry.digest), [4, 6, 7, 8, 9, 0].map(digest), 'the next page starts after the last entry');
    index.removeBlob(digest(5));
    await index.flush();
    assert.equal(index.oldestBlobs(1)[0]?.digest, digest(1), 'a removed blob leaves the order');
  });
});

test('a blob added twice or an unknown one removed: every blob is counted once', async () => {
  await withIndex(async (index, dir) => {
    index.addBlob(digest(1), 40);
    index.addBlob(digest(1), 40);
    index.addBlob(digest(2), 2);
    index.removeBlob(digest(2));
    index.removeBlob(digest(9));
    assert.deepEqual(index.usage(), { bytes: 40, blobs: 1 });
    await index.close();
    const again = await reopened(dir);
    assert.deepEqual(again.usage(), { bytes: 40, blobs: 1 });
    await again.close();
  });
});

test('forget drops the blob record and the manifest record', async () => {
  await withIndex(async (index) => {
    index.addBlob(digest(1), 10);
    index.setManifest(digest(1), { mediaType: 'm', size: 10 });
    await index.flush();
    index.forget(digest(1));
    assert.equal(index.getManifest(digest(1)), undefined);
    assert.equal(index.blob(digest(1)), undefined);
    await index.flush();
    assert.equal(index.getManifest(digest(1)), undefined);
    assert.deepEqual(index.usage(), { bytes: 0, blobs: 0 });
  });
});

test('the index and the blobs are the owner\'s alone: files 0600, folders 0700', async () => {
  const dir = await makeTempDir('private');
  const index = new MetadataIndex(dir);
  const store = new BlobStore(dir, index);
  try {
    await store.open();
    await index.load({ store });
    const bytes = Buffer.from('private bytes');
    await store.put(digestOf(bytes), bytes);
    await index.flush();
    const modes = async (path: string) => ((await stat(path)).mode & 0o777).toString(8);
    for (const file of await readdir(index.dir)) assert.equal(await modes(join(index.dir, file)), '600', file);
    assert.equal(await modes(index.dir), '700');
    assert.equal(await modes(store.pathOf(digestOf(bytes))), '600');
    for (const folder of [store.blobsDir, store.ingestDir, join(store.pathOf(digestOf(bytes)), '..')]) assert.equal(await modes(folder), '700', folder);
  } finally {
    await index.close();
    await removeTempDir(dir);
  }
});

test('an index written by a newer version is refused with the reason, and left as it was', async () => {
  const dir = await makeTempDir('newer');
  try {
    const first = await reopened(dir);
    first.setTag('docker.io', 'library/x', 'latest', tag(digest(1)));
    await first.close();
    const env = open({ path: join(dir, 'index') });
    await env.openDB({ name: 'meta' }).put('schema', 99);
    await env.close();
    const dataFile = join(dir, 'index', 'data.mdb');
    const before = await readFile(dataFile);

    await assert.rejects(reopened(dir), (error: Error) => error instanceof IndexTooNewError && /newer version of Layover \(schema 99; this version reads schema 2\)/.test(error.message));
    assert.ok((await readFile(dataFile)).equals(before), 'not a byte of the index was written');
  } finally {
    await removeTempDir(dir);
  }
});

test('a metadata.json of a newer version is refused, never imported or replaced', async () => {
  const dir = await makeTempDir('newer-json');
  try {
    const text = JSON.stringify({ version: 2, registries: {} });
    await writeFile(join(dir, 'metadata.json'), text);
    await assert.rejects(reopened(dir), /not a metadata file this version of Layover understands/);
    assert.deepEqual((await readdir(dir)).sort(), ['index', 'metadata.json']);
    const index = await reopened(dir).catch(() => undefined);
    assert.equal(index, undefined, 'still refused at the next start');
  } finally {
    await removeTempDir(dir);
  }
});
