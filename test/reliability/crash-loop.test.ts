/**
 * kill -9 in a loop while clients pull: after every restart the store
 * verifies clean (every blob hashes to its name, no ingest leftovers) and
 * serves exact bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startFaultUpstream } from '../support/fault-upstream.js';
import { get, sha256, testBytes } from '../support/http.js';
import { startLayoverProcess } from '../support/layover.js';
import { freePort } from '../support/ports.js';
import { makeTempDir, removeTempDir, sleep } from '../support/process.js';
import { checkStore } from '../support/store-check.js';

const ITERATIONS = Number(process.env.LAYOVER_CRASH_ITERATIONS ?? 24);

test(`kill -9 during pulls, ${ITERATIONS} times: the store verifies clean after every restart`, async () => {
  const work = await makeTempDir('crash-loop');
  const dataDir = join(work, 'data');
  const upstream = await startFaultUpstream();
  const blobs = Array.from({ length: 12 }, (_, i) => testBytes((1 + (i % 4)) * 512 * 1024, 700 + i));
  const digests = blobs.map((bytes) => upstream.addBlob(bytes));
  const port = await freePort();
  const adminPort = await freePort();
  let pulls = 0;
  try {
    for (let iteration = 0; iteration < ITERATIONS; iteration++) {
      // Slow every blob down so kills land mid-ingest.
      for (const digest of digests) upstream.setFault(digest, { kind: 'trickle', bytesPerSecond: 4 * 1024 * 1024 }, 1);
      const layover = await startLayoverProcess({ dataDir, upstream: upstream.url, port, adminPort });
      const check = await checkStore(dataDir);
      assert.deepEqual(check.corrupt, [], `iteration ${iteration}: no corrupt blob`);
      assert.deepEqual(check.ingestLeftovers, [], `iteration ${iteration}: no ingest leftovers after restart`);
      const inFlight = [0, 1, 2, 3].map((k) => get(`${layover.url}/v2/library/app/blobs/${digests[(iteration * 3 + k) % digests.length]}`).catch(() => undefined));
      pulls += inFlight.length;
      await sleep(50 + ((iteration * 37) % 300));
      layover.process.signal('SIGKILL');
      await layover.process.exited;
      await Promise.all(inFlight);
    }
    upstream.clearFaults();
    const last = await startLayoverProcess({ dataDir, upstream: upstream.url, port, adminPort });
    try {
      const check = await checkStore(dataDir);
      assert.deepEqual(check.corrupt, []);
      assert.deepEqual(check.ingestLeftovers, []);
      for (const [index, digest] of digests.entries()) {
        const response = await get(`${last.url}/v2/library/app/blobs/${digest}`);
        assert.equal(sha256(response.body), digest, `blob ${index} exact after ${ITERATIONS} crashes`);
      }
      console.log(`crash loop: ${ITERATIONS} kill -9 iterations, ${pulls} interrupted pulls, ${check.blobs} blobs verified clean`);
    } finally {
      await last.process.stop();
    }
  } finally {
    await upstream.stop();
    await removeTempDir(work);
  }
});
