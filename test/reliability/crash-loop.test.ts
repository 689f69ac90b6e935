/**
 * kill -9 in a loop while clients pull: after every restart the store
 * verifies clean (every blob hashes to its name, no ingest leftovers) and
 * serves exact bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startFaultUpstream, type FaultUpstream } from '../support/fault-upstream.js';
import { get, sha256, testBytes } from '../support/http.js';
import { adminClient, startLayoverProcess } from '../support/layover.js';
import { freePort } from '../support/ports.js';
import { makeTempDir, removeTempDir, sleep } from '../support/process.js';
import { checkStore } from '../support/store-check.js';

const ITERATIONS = Number(process.env.LAYOVER_CRASH_ITERATIONS ?? 24);

/** An image for prefetch to work on: its job is persisted, resumed at every restart, and killed again. */
function addPrefetchImage(upstream: FaultUpstream): string[] {
  const layers = [801, 802, 803].map((seed) => testBytes(2 * 1024 * 1024, seed));
  const layerDigests = layers.map((bytes) => upstream.addBlob(bytes));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layerDigests } }));
  const configDigest = upstream.addBlob(config);
  upstream.addManifest('library/prefetched', 'v1', {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: layers.map((bytes, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigests[i], size: bytes.length })),
  });
  return [configDigest, ...layerDigests];
}

test(`kill -9 during pulls and a prefetch job, ${ITERATIONS} times: the store verifies clean after every restart`, async () => {
  const work = await makeTempDir('crash-loop');
  const dataDir = join(work, 'data');
  const upstream = await startFaultUpstream();
  const blobs = Array.from({ length: 12 }, (_, i) => testBytes((1 + (i % 4)) * 512 * 1024, 700 + i));
  const digests = blobs.map((bytes) => upstream.addBlob(bytes));
  const prefetched = addPrefetchImage(upstream);
  const port = await freePort();
  const adminPort = await freePort();
  let pulls = 0;
  try {
    for (let iteration = 0; iteration < ITERATIONS; iteration++) {
      // Slow every blob down so kills land mid-ingest.
      for (const digest of [...digests, ...prefetched]) upstream.setFault(digest, { kind: 'trickle', bytesPerSecond: 4 * 1024 * 1024 }, 1);
      const layover = await startLayoverProcess({ dataDir, upstream: upstream.url, port, adminPort });
      // Started once; every restart after that resumes it from the data dir, and the next kill lands in it again.
      if (iteration === 0) await (await adminClient(layover)).prefetch({ repository: 'library/prefetched', tags: { kind: 'exact', tags: ['v1'] } });
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
      const api = (await adminClient(last));
      for (let waited = 0; !(await api.listJobs()).some((job) => job.repository === 'library/prefetched' && job.state === 'done'); waited += 200) {
        assert.ok(waited < 60_000, `the prefetch job finishes after the crashes: ${JSON.stringify(await api.listJobs())}`);
        await sleep(200);
      }
      for (const [index, digest] of [...digests, ...prefetched].entries()) {
        const response = await get(`${last.url}/v2/library/app/blobs/${digest}`);
        assert.equal(sha256(response.body), digest, `blob ${index} exact after ${ITERATIONS} crashes`);
      }
      console.log(`crash loop: ${ITERATIONS} kill -9 iterations during a prefetch job and ${pulls} pulls; ${(await checkStore(dataDir)).blobs} blobs verified clean`);
    } finally {
      await last.process.stop();
    }
  } finally {
    await upstream.stop();
    await removeTempDir(work);
  }
});
