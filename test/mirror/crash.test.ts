/**
 * kill -9 at the worst moment: the real `layover serve` process is killed
 * while a blob is half ingested; after a restart nothing half-written remains
 * and the blob is served with exact bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startFaultUpstream } from '../support/fault-upstream.js';
import { get, sha256, testBytes } from '../support/http.js';
import { makeTempDir, removeTempDir, sleep } from '../support/process.js';
import { startLayoverProcess } from '../support/layover.js';

async function ingestBytes(dataDir: string): Promise<number> {
  const files = await readdir(join(dataDir, 'ingest')).catch(() => [] as string[]);
  const sizes = await Promise.all(files.map((file) => stat(join(dataDir, 'ingest', file)).then((s) => s.size, () => 0)));
  return sizes.reduce((a, b) => a + b, 0);
}

test('kill -9 during ingest, then restart: leftovers removed, exact bytes served', async () => {
  const work = await makeTempDir('crash');
  const dataDir = join(work, 'data');
  const upstream = await startFaultUpstream();
  const blob = testBytes(6 * 1024 * 1024, 41);
  const digest = upstream.addBlob(blob);
  upstream.setFault(digest, { kind: 'trickle', bytesPerSecond: 2 * 1024 * 1024 }, 1);
  let layover = await startLayoverProcess({ dataDir, upstream: upstream.url });
  try {
    const pull = get(`${layover.url}/v2/library/app/blobs/${digest}`).catch((error: Error) => error);
    for (let waited = 0; (await ingestBytes(dataDir)) < 1024 * 1024; waited += 50) {
      assert.ok(waited < 10_000, 'the ingest never started');
      await sleep(50);
    }
    layover.process.signal('SIGKILL');
    await layover.process.exited;
    const interrupted = await pull;
    assert.ok(interrupted instanceof Error || interrupted.bodyError || interrupted.body.length < blob.length, 'the client saw the crash');
    assert.ok((await ingestBytes(dataDir)) > 0, 'a half-written ingest file was left behind');

    layover = await startLayoverProcess({ dataDir, upstream: upstream.url, port: Number(layover.host.split(':')[1]) });
    assert.deepEqual(await readdir(join(dataDir, 'ingest')), [], 'restart removed the leftovers');
    const healed = await get(`${layover.url}/v2/library/app/blobs/${digest}`);
    assert.equal(healed.bodyError, undefined);
    assert.equal(sha256(healed.body), digest);
    const again = await get(`${layover.url}/v2/library/app/blobs/${digest}`);
    assert.equal(sha256(again.body), digest);
    assert.equal(again.headers['x-layover-cache'], 'hit');
  } finally {
    await layover.process.stop();
    await upstream.stop();
    await removeTempDir(work);
  }
});
