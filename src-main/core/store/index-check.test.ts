/**
 * The background check: blob files the index lacks are recorded, records
 * whose file is gone are forgotten, and nothing happens while pulls run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '../../../test/support/process.js';
import { BlobStore } from './blob-store.js';
import { digestOf } from './digest.js';
import { checkIndexAgainstFiles } from './index-check.js';
import { MetadataIndex } from './metadata.js';

async function withStore(run: (store: BlobStore, index: MetadataIndex) => Promise<void>): Promise<void> {
  const dir = await makeTempDir('index-check');
  const index = new MetadataIndex(dir);
  const store = new BlobStore(dir, index);
  try {
    await store.open();
    await index.load({ store });
    await run(store, index);
  } finally {
    await index.close();
    await removeTempDir(dir);
  }
}

/** Stores blobs the ordinary way (recorded), and returns their digests. */
async function putBlobs(store: BlobStore, contents: string[]): Promise<string[]> {
  const digests: string[] = [];
  for (const content of contents) {
    const bytes = Buffer.from(content);
    digests.push(digestOf(bytes));
    await store.put(digestOf(bytes), bytes);
  }
  return digests;
}

/** A blob file the index never heard of, as a crash between the rename and the index write leaves it. */
async function putUnrecorded(store: BlobStore, content: string): Promise<string> {
  const digest = digestOf(Buffer.from(content));
  await mkdir(join(store.pathOf(digest), '..'), { recursive: true });
  await writeFile(store.pathOf(digest), content);
  return digest;
}

test('files the index lacks are recorded, records whose file is gone are forgotten, and usage follows', async () => {
  await withStore(async (store, index) => {
    const [kept, lost] = await putBlobs(store, ['kept blob', 'lost blob']);
    index.setManifest(lost!, { mediaType: 'm', size: 9 });
    await rm(store.pathOf(lost!));
    const unrecorded = await putUnrecorded(store, 'a blob the index never saw');
    await index.flush();
    assert.deepEqual(index.usage(), { bytes: 18, blobs: 2 }, 'before the check: what the index says');

    const report = await checkIndexAgainstFiles(index, store, { pauseMs: 0, batchSize: 1 });
    assert.deepEqual(report, { adopted: 1, dropped: 1 });
    assert.deepEqual(index.usage(), { bytes: 'kept blob'.length + 'a blob the index never saw'.length, blobs: 2 });
    assert.ok(index.blob(unrecorded) && index.blob(kept!));
    assert.equal(index.blob(lost!), undefined);
    assert.equal(index.getManifest(lost!), undefined, 'a lost manifest is fetched again rather than read from a missing file');
    assert.deepEqual(await checkIndexAgainstFiles(index, store, { pauseMs: 0 }), { adopted: 0, dropped: 0 }, 'a second check finds nothing');
  });
});

test('the check stands aside while pulls are busy, and repairs nothing meanwhile', async () => {
  await withStore(async (store, index) => {
    const unrecorded = await putUnrecorded(store, 'found while pulls ran');
    let busyAnswers = 0;
    let repairedWhileBusy = false;
    const busy = (): boolean => {
      if (busyAnswers === 3) return false;
      repairedWhileBusy ||= index.blob(unrecorded) !== undefined;
      busyAnswers += 1;
      return true;
    };
    const report = await checkIndexAgainstFiles(index, store, { busy, pauseMs: 0 });
    assert.equal(busyAnswers, 3, 'it asked until the pulls were done');
    assert.equal(repairedWhileBusy, false);
    assert.deepEqual(report, { adopted: 1, dropped: 0 });
  });
});

test('a stop aborts the check between batches', async () => {
  await withStore(async (store, index) => {
    await putUnrecorded(store, 'never reached');
    const stopping = new AbortController();
    stopping.abort();
    await assert.rejects(checkIndexAgainstFiles(index, store, { signal: stopping.signal }), { name: 'AbortError' });
    assert.deepEqual(index.usage(), { bytes: 0, blobs: 0 });
  });
});
