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

test('disk full mid-ingest: the client sees an error, nothing partial remains, cached blobs still serve', async () => {
  const work = await makeTempDir('disk-full');
  const small = join(work, 'small-fs');
  await mkdir(small);
  await runChecked('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', small]);
  const upstream = await startFaultUpstream();
  const cachedBytes = testBytes(2 * 1024 * 1024, 61);
  const cached = upstream.addBlob(cachedBytes);
  const tooBig = upstream.addBlob(testBytes(16 * 1024 * 1024, 62));
  const layover = await startLayover({ upstream: upstream.url, dataDir: join(small, 'data') });
  try {
    assert.equal(sha256((await get(`${layover.url}/v2/library/a/blobs/${cached}`)).body), cached);
    const full = await get(`${layover.url}/v2/library/a/blobs/${tooBig}`);
    assert.ok(full.bodyError || full.status >= 500, 'the client sees the failure');
    assert.notEqual(sha256(full.body), tooBig);
    assert.deepEqual(await readdir(join(small, 'data', 'ingest')), [], 'no partial blob left');
    assert.equal(await layover.instance.core.store.sizeOf(tooBig), undefined);
    const events = layover.instance.core.telemetry.recentEvents();
    assert.ok(events.some((event) => /ENOSPC|no space/i.test(event.message)), 'the reason is reported in words');
    const again = await get(`${layover.url}/v2/library/a/blobs/${cached}`);
    assert.equal(sha256(again.body), cached, 'cached content is still served');
  } finally {
    // Each step runs whatever the one before did: a server left open would keep the test process alive.
    await layover.stop().catch(() => undefined);
    await upstream.stop();
    await runCommand('umount', [small]);
    await removeTempDir(work);
  }
});
