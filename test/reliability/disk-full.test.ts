/**
 * The data directory on a small filesystem that fills up mid-ingest: a clear
 * error, no partial blob, and cached content keeps being served.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startFaultUpstream } from '../support/fault-upstream.js';
import { get, sha256, testBytes } from '../support/http.js';
import { startLayover } from '../support/layover.js';
import { makeTempDir, removeTempDir, runChecked, runCommand } from '../support/process.js';
import { recordResults } from './results.js';

const FILESYSTEM_MIB = 12;
const BLOB_MIB = 16;

test('disk full mid-ingest: the client sees an error, nothing partial remains, cached blobs still serve', async () => {
  const work = await makeTempDir('disk-full');
  const small = join(work, 'small-fs');
  await mkdir(small);
  await runChecked('mount', ['-t', 'tmpfs', '-o', `size=${FILESYSTEM_MIB}m`, 'tmpfs', small]);
  const upstream = await startFaultUpstream();
  const cachedBytes = testBytes(2 * 1024 * 1024, 61);
  const cached = upstream.addBlob(cachedBytes);
  const tooBig = upstream.addBlob(testBytes(BLOB_MIB * 1024 * 1024, 62));
  const layover = await startLayover({ upstream: upstream.url, dataDir: join(small, 'data') });
  const figures = { filesystemMiB: FILESYSTEM_MIB, blobMiB: BLOB_MIB, clientBytesBeforeError: 0, clientSawError: false, partialFilesLeft: -1, reasonReported: false, cachedStillServed: false };
  try {
    await recordResults('diskFull', () => figures, async () => {
      assert.equal(sha256((await get(`${layover.url}/v2/library/a/blobs/${cached}`)).body), cached);
      const full = await get(`${layover.url}/v2/library/a/blobs/${tooBig}`);
      figures.clientBytesBeforeError = full.body.length;
      figures.clientSawError = Boolean(full.bodyError) || full.status >= 500;
      assert.ok(figures.clientSawError, 'the client sees the failure');
      assert.notEqual(sha256(full.body), tooBig);
      // The ingest file is removed before the transfer's readers are told it failed, so it is gone by the time the client sees the error.
      figures.partialFilesLeft = (await readdir(join(small, 'data', 'ingest'))).length;
      assert.equal(figures.partialFilesLeft, 0, 'no partial blob left');
      assert.equal(await layover.instance.core.store.sizeOf(tooBig), undefined);
      const events = layover.instance.core.telemetry.recentEvents();
      figures.reasonReported = events.some((event) => /ENOSPC|no space/i.test(event.message));
      assert.ok(figures.reasonReported, 'the reason is reported in words');
      const again = await get(`${layover.url}/v2/library/a/blobs/${cached}`);
      figures.cachedStillServed = sha256(again.body) === cached;
      assert.ok(figures.cachedStillServed, 'cached content is still served');
    });
  } finally {
    // Each step runs whatever the one before did: a server left open would keep the test process alive.
    await layover.stop().catch(() => undefined);
    await upstream.stop();
    await runCommand('umount', [small]);
    await removeTempDir(work);
  }
});
