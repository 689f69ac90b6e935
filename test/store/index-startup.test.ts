/**
 * A restart reads the index, not the blob files: what changed in the files
 * behind Layover's back is found afterwards by the background check, which
 * repairs the index while the mirror already serves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFaultUpstream } from '../support/fault-upstream.js';
import { get, sha256, testBytes } from '../support/http.js';
import { startLayover } from '../support/layover.js';
import { makeTempDir, removeTempDir } from '../support/process.js';

const BLOB_SIZE = 64 * 1024;

test('after a restart the background check records a blob file the index lacked and forgets one whose file is gone', async () => {
  const work = await makeTempDir('index-startup');
  const dataDir = join(work, 'data');
  const upstream = await startFaultUpstream();
  try {
    const digests = [1, 2, 3].map((seed) => upstream.addBlob(testBytes(BLOB_SIZE, 950 + seed)));
    const first = await startLayover({ upstream: upstream.url, dataDir });
    try {
      for (const digest of digests) assert.equal(sha256((await get(`${first.url}/v2/library/app/blobs/${digest}`)).body), digest);
      assert.deepEqual(await first.instance.core.indexCheck, { adopted: 0, dropped: 0 }, 'a store Layover wrote itself needs no repair');
    } finally {
      await first.stop();
    }

    const lost = digests[0]!;
    const stray = testBytes(BLOB_SIZE, 999);
    const strayDigest = sha256(stray);
    const strayPath = join(dataDir, 'blobs', 'sha256', strayDigest.slice(7, 9), strayDigest.slice(7));
    await rm(join(dataDir, 'blobs', 'sha256', lost.slice(7, 9), lost.slice(7)));
    await mkdir(join(strayPath, '..'), { recursive: true });
    await writeFile(strayPath, stray);

    const second = await startLayover({ upstream: upstream.url, dataDir });
    try {
      const core = second.instance.core;
      assert.deepEqual(await core.indexCheck, { adopted: 1, dropped: 1 });
      assert.deepEqual(core.store.usage, { bytes: 3 * BLOB_SIZE, blobs: 3 });
      assert.ok(core.metadata.blob(strayDigest) && !core.metadata.blob(lost));
      const again = await get(`${second.url}/v2/library/app/blobs/${lost}`);
      assert.equal(sha256(again.body), lost, 'the lost blob is fetched again');
      assert.equal(again.headers['x-layover-cache'], 'miss');
    } finally {
      await second.stop();
    }
  } finally {
    await upstream.stop();
    await removeTempDir(work);
  }
});
