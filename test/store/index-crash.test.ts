/**
 * kill -9 of the real `layover serve` (compiled) while cache hits keep its
 * access-time batches committing: after every kill the index opens whole,
 * agrees with the blob files to the byte, and keeps every blob in its
 * eviction order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobStore } from '../../src-main/core/store/blob-store.js';
import { checkIndexAgainstFiles } from '../../src-main/core/store/index-check.js';
import { MetadataIndex } from '../../src-main/core/store/metadata.js';
import { startFaultUpstream } from '../support/fault-upstream.js';
import { get, sha256, testBytes } from '../support/http.js';
import { startLayoverProcess } from '../support/layover.js';
import { freePort } from '../support/ports.js';
import { makeTempDir, removeTempDir, sleep } from '../support/process.js';

const BLOBS = 8;
const KILLS = 4;
const HITS_BEFORE_KILL = 200;
/** Access-time batches committed while hits run, before each kill. */
const COMMITS = 2;

test(`kill -9 while hits update access times, ${KILLS} times: the index opens whole and agrees with the files`, async () => {
  const work = await makeTempDir('index-crash');
  const dataDir = join(work, 'data');
  const upstream = await startFaultUpstream();
  const port = await freePort();
  try {
    const digests = Array.from({ length: BLOBS }, (_, i) => upstream.addBlob(testBytes(32 * 1024 * (i + 1), 960 + i)));
    for (let kill = 0; kill < KILLS; kill++) {
      const layover = await startLayoverProcess({ dataDir, upstream: upstream.url, port });
      let hits = 0;
      let stopped = false;
      const client = async (offset: number) => {
        for (let n = offset; !stopped; n++) {
          const response = await get(`${layover.url}/v2/library/app/blobs/${digests[n % BLOBS]}`).catch(() => undefined);
          if (response && sha256(response.body) === digests[n % BLOBS]) hits += 1;
        }
      };
      const clients = [0, 1, 2, 3].map(client);
      await commitsWhileHitting(join(dataDir, 'index', 'data.mdb'), () => hits, () => !layover.process.isRunning());
      layover.process.signal('SIGKILL');
      await layover.process.exited;
      stopped = true;
      await Promise.all(clients);
      assert.ok(hits >= HITS_BEFORE_KILL, `round ${kill}: the hits were served before the kill`);
      await assertIndexAgreesWithFiles(dataDir, digests, kill);
    }
  } finally {
    await upstream.stop();
    await removeTempDir(work);
  }
});

/**
 * Waits until the index file has been written COMMITS times since the hits
 * began (each access-time batch is a commit) and HITS_BEFORE_KILL hits were
 * served: the kill then lands among committing batches.
 */
async function commitsWhileHitting(indexFile: string, hits: () => number, gaveUp: () => boolean): Promise<void> {
  while (hits() === 0 && !gaveUp()) await sleep(5);
  let lastWrite = (await stat(indexFile)).mtimeMs;
  for (let commits = 0; (commits < COMMITS || hits() < HITS_BEFORE_KILL) && !gaveUp(); await sleep(5)) {
    const written = (await stat(indexFile)).mtimeMs;
    if (written !== lastWrite) commits += 1;
    lastWrite = written;
  }
}

/** Opens the index as the next start would and compares it with the files, blob by blob. */
async function assertIndexAgreesWithFiles(dataDir: string, digests: string[], round: number): Promise<void> {
  const index = new MetadataIndex(dataDir);
  const store = new BlobStore(dataDir, index);
  await index.load({ store });
  try {
    const sizes = await Promise.all(digests.map(async (digest) => (await stat(store.pathOf(digest))).size));
    assert.deepEqual(index.usage(), { bytes: sizes.reduce((sum, size) => sum + size, 0), blobs: BLOBS }, `round ${round}: usage from the index is the files'`);
    assert.deepEqual(digests.map((digest) => index.blob(digest)?.size), sizes, `round ${round}: every blob's record`);
    assert.deepEqual(index.oldestBlobs(100).map((entry) => entry.digest).sort(), [...digests].sort(), `round ${round}: each blob once in the eviction order`);
    assert.deepEqual(await checkIndexAgainstFiles(index, store, { pauseMs: 0 }), { adopted: 0, dropped: 0 }, `round ${round}: nothing to repair`);
  } finally {
    await index.close();
  }
}
