import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { BlobStore } from './blob-store.js';
import { digestOf } from './digest.js';
import { sendFollowing } from './follow.js';
import { DigestMismatchError } from './ingest.js';
import { MetadataIndex } from './metadata.js';

async function withStore(run: (store: BlobStore, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'layover-store-'));
  try {
    const store = new BlobStore(dir);
    await store.open();
    await run(store, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Follows [start, end] of an ingest into memory, as a response would receive it (copied: the sender reuses its buffers). */
async function follow(ingest: Parameters<typeof sendFollowing>[0], start: number, end: number, onBytes?: (bytes: number) => void): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      onBytes?.(chunk.length);
      done();
    },
  });
  await sendFollowing(ingest, start, end, sink);
  return Buffer.concat(chunks);
}

test('a blob becomes visible only after its digest matches', async () => {
  await withStore(async (store) => {
    const bytes = Buffer.from('hello layover');
    const digest = digestOf(bytes);
    const ingest = await store.createIngest(digest, bytes.length);
    await ingest.write(bytes.subarray(0, 5));
    assert.equal(await store.sizeOf(digest), undefined, 'not visible while writing');
    await ingest.write(bytes.subarray(5));
    await ingest.finish();
    assert.equal(await store.sizeOf(digest), bytes.length);
    assert.deepEqual(await store.read(digest), bytes);
    assert.deepEqual(store.usage, { bytes: bytes.length, blobs: 1 });
  });
});

test('wrong bytes are never stored and fail every follower', async () => {
  await withStore(async (store) => {
    const digest = digestOf(Buffer.from('the right bytes'));
    const wrong = Buffer.from('the wrong bytes');
    const ingest = await store.createIngest(digest, wrong.length);
    const follower = follow(ingest, 0, wrong.length - 1).then(() => 'completed', (error: unknown) => error);
    await ingest.write(wrong);
    await assert.rejects(ingest.finish(), DigestMismatchError);
    assert.ok((await follower) instanceof DigestMismatchError, 'the follower saw the failure');
    assert.equal(await store.sizeOf(digest), undefined);
    assert.deepEqual(await readdir(store.ingestDir), [], 'the ingest file is removed');
  });
});

test('a follower gets everything but the last byte until the blob is verified', async () => {
  await withStore(async (store) => {
    const bytes = Buffer.alloc(3 * 1024 * 1024, 7);
    const digest = digestOf(bytes);
    const ingest = await store.createIngest(digest, bytes.length);
    let received = 0;
    const follower = follow(ingest, 0, bytes.length - 1, (bytes) => (received += bytes));
    await ingest.write(bytes);
    // Waits for the follower to catch up with the file (a loaded machine reads slowly), then gives it turns to overshoot.
    for (let polls = 0; received < bytes.length - 1 && polls < 2_000; polls++) await new Promise((resolve) => setTimeout(resolve, 5));
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(received, bytes.length - 1, 'the final byte waits for verification');
    await ingest.finish();
    await follower;
    assert.equal(received, bytes.length);
  });
});

test('a range follower starts mid-blob and a late follower reads from the renamed file', async () => {
  await withStore(async (store) => {
    const bytes = Buffer.from('0123456789abcdef');
    const digest = digestOf(bytes);
    const ingest = await store.createIngest(digest, bytes.length);
    const early = follow(ingest, 4, 9);
    await ingest.write(bytes);
    await ingest.finish();
    assert.equal((await early).toString(), '456789');
    assert.equal((await follow(ingest, 10, 15)).toString(), 'abcdef');
  });
});

test('more bytes than announced fail the ingest', async () => {
  await withStore(async (store) => {
    const ingest = await store.createIngest(digestOf(Buffer.from('abc')), 2);
    await assert.rejects(ingest.write(Buffer.from('abc')), /more than the 2 bytes/);
  });
});

test('opening the store removes what a crash left half-written', async () => {
  await withStore(async (store, dir) => {
    await writeFile(join(store.ingestDir, 'left-by-kill-9'), 'partial');
    await mkdir(join(dir, 'blobs', 'sha256', 'zz'), { recursive: true });
    await writeFile(join(dir, 'blobs', 'sha256', 'zz', 'not-a-digest'), 'junk');
    const reopened = new BlobStore(dir);
    assert.deepEqual(await reopened.open(), { removedLeftovers: 1 });
    assert.deepEqual(await readdir(reopened.ingestDir), []);
    assert.equal(reopened.usage.blobs, 0, 'files that are not digests are not counted as blobs');
  });
});

test('metadata is written atomically and tags named like prototype keys are plain data', async () => {
  await withStore(async (_store, dir) => {
    const index = new MetadataIndex(dir);
    await index.load();
    index.setTag('docker.io', 'library/x', '__proto__', { digest: 'sha256:1', mediaType: 'm', checkedAt: 1 });
    index.setTag('docker.io', 'library/x', 'latest', { digest: 'sha256:2', mediaType: 'm', checkedAt: 2 });
    await index.close();
    const reloaded = new MetadataIndex(dir);
    await reloaded.load();
    assert.equal(reloaded.getTag('docker.io', 'library/x', '__proto__')?.digest, 'sha256:1');
    assert.equal(reloaded.getTag('docker.io', 'library/x', 'latest')?.digest, 'sha256:2');
    assert.equal(reloaded.getTag('docker.io', 'library/x', 'constructor'), undefined);
    assert.equal(({} as Record<string, unknown>).digest, undefined, 'Object.prototype untouched');
  });
});

test('closing metadata that was never loaded leaves the file alone', async () => {
  await withStore(async (_store, dir) => {
    const first = new MetadataIndex(dir);
    await first.load();
    first.setTag('docker.io', 'library/x', 'latest', { digest: 'sha256:1', mediaType: 'm', checkedAt: 1 });
    await first.close();
    await new MetadataIndex(dir).close();
    const reloaded = new MetadataIndex(dir);
    await reloaded.load();
    assert.equal(reloaded.getTag('docker.io', 'library/x', 'latest')?.digest, 'sha256:1');
  });
});
