/**
 * Jobs that stop and go on: kill -9 of a real `layover serve` during a job,
 * then a restart that resumes it (the interrupted layer with a Range request)
 * and finishes with exact bytes; pause, resume and cancel in process.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobStatus } from '../../src-main/api/types.js';
import { adminClient } from '../support/layover.js';
import { writeSampleLayout, type SampleLayoutResult } from '../../src-main/demo/sample-images.js';
import { sha256 } from '../support/http.js';
import { freePort } from '../support/ports.js';
import { makeTempDir, removeTempDir } from '../support/process.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { pushSampleLayout, skopeoPull } from '../support/skopeo.js';
import { waitForJob, waitForJobState } from './support/jobs.js';
import { startServe } from './support/serve.js';
import { startPrefetchLayover } from './support/wiring.js';

const MiB = 1024 * 1024;
describe('jobs that stop and go on', () => {
  let work: string;
  let upstream: TestRegistry;
  let layout: SampleLayoutResult;

  before(async () => {
    work = await makeTempDir('prefetch-jobs');
    layout = await writeSampleLayout(join(work, 'layout'), [
      { tag: 'three', layers: [{ size: 4 * MiB, seed: 'three-1' }, { size: 4 * MiB, seed: 'three-2' }, { size: 4 * MiB, seed: 'three-3' }] },
      { tag: 'pausable', layers: [{ size: 6 * MiB, seed: 'pausable' }] },
    ]);
    upstream = await startRegistry({ name: 'jobs-upstream' });
    await pushSampleLayout(layout, { registryHost: upstream.host, repository: 'library/app' });
  });
  after(async () => {
    await upstream?.destroy();
    if (work) await removeTempDir(work);
  });

  const tagOf = (tag: string) => layout.tags.find((t) => t.tag === tag)!;

  test('kill -9 during a job, then restart: the job is resumed and finishes with exact bytes', async (t) => {
    const dataDir = join(work, 'killed', 'data');
    const ports = { mirror: await freePort(), admin: await freePort() };
    let serve = await startServe(dataDir, upstream.url, ports);
    try {
      const api = (await adminClient(serve));
      // A cap makes the 12 MiB take about 6 s, so the kill lands in the middle of a layer.
      const job = await api.prefetch({ repository: 'library/app', tags: { kind: 'exact', tags: ['three'] }, bandwidthLimit: 2 * MiB });
      const before = await waitForJobState(api, job.id, (status) => status.bytesDone > 6 * MiB);
      const persisted = JSON.parse(await readFile(join(dataDir, 'prefetch', 'state.json'), 'utf8')) as { jobs: Array<{ status: JobStatus }> };
      assert.equal(persisted.jobs[0]?.status.id, job.id, 'the job is persisted under the data dir');
      const mark = await upstream.mark();
      serve.process.signal('SIGKILL');
      await serve.process.exited;
      assert.ok(before.bytesDone < before.bytesTotal, 'killed mid-job');
      assert.ok((await readdir(join(dataDir, 'prefetch', 'partial'))).length >= 1, 'a partial layer was left behind');

      serve = await startServe(dataDir, upstream.url, ports);
      const finished = await waitForJob((await adminClient(serve)), job.id, 30_000);
      assert.equal(finished.state, 'done', finished.error);
      assert.equal(finished.bytesDone, finished.bytesTotal);
      const layers = tagOf('three').manifests[0]!.layers;
      for (const layer of layers) {
        const bytes = await readFile(join(dataDir, 'blobs', 'sha256', layer.digest.slice(7, 9), layer.digest.slice(7)));
        assert.equal(sha256(bytes), layer.digest, 'exact bytes in the store');
      }
      const refetched = await upstream.requests({ method: 'GET', pathIncludes: '/blobs/', since: mark });
      const resumed = refetched.filter((entry) => entry.bytes < 4 * MiB && layers.some((layer) => entry.path.endsWith(layer.digest)));
      assert.ok(resumed.length >= 1, `the interrupted layer was resumed with a Range request: ${JSON.stringify(refetched.map((e) => [e.path.slice(-12), e.status, e.bytes]))}`);
      const totalAfter = refetched.reduce((sum, entry) => sum + entry.bytes, 0);
      t.diagnostic(`killed at ${before.bytesDone} of ${before.bytesTotal} bytes; after the restart: ${refetched.map((e) => `${e.status} ${e.bytes}`).join(', ')} (${totalAfter} bytes)`);
      assert.ok(totalAfter <= finished.bytesTotal - before.bytesDone + 64 * 1024, `after the restart only what was missing crossed the link (${totalAfter} bytes)`);

      await upstream.stop();
      try {
        const pulled = await skopeoPull({ reference: `${serve.host}/library/app:three` });
        assert.equal(pulled.digest, tagOf('three').digest, 'the prefetched image pulls with the upstream stopped');
      } finally {
        await upstream.start();
      }
    } finally {
      await serve.process.stop();
    }
  });

  test('pausing all prefetch sends running jobs back to the queue; resuming continues them', async () => {
    const layover = await startPrefetchLayover({ upstream: upstream.url });
    try {
      const job = await layover.api.prefetch({ repository: 'library/app', tags: { kind: 'exact', tags: ['pausable'] }, bandwidthLimit: 4 * MiB });
      await waitForJobState(layover.api, job.id, (status) => status.bytesDone > MiB);
      await layover.api.setPrefetchPaused({ paused: true });
      const waiting = await waitForJobState(layover.api, job.id, (status) => status.state === 'queued');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const later = (await layover.api.listJobs()).find((status) => status.id === job.id)!;
      assert.equal(later.state, 'queued');
      assert.equal(later.bytesDone, waiting.bytesDone, 'no bytes move while prefetch is paused');
      assert.equal((await layover.api.getStatus()).prefetchPaused, true);
      await layover.api.setPrefetchPaused({ paused: false });
      assert.equal((await waitForJob(layover.api, job.id)).state, 'done');
    } finally {
      await layover.stop();
    }
  });

  test('pause keeps the partial layer, resume continues it with Range, cancel removes it', async () => {
    const layover = await startPrefetchLayover({ upstream: upstream.url });
    try {
      const layer = tagOf('pausable').manifests[0]!.layers[0]!;
      const job = await layover.api.prefetch({ repository: 'library/app', tags: { kind: 'exact', tags: ['pausable'] }, bandwidthLimit: 3 * MiB });
      await waitForJobState(layover.api, job.id, (status) => status.bytesDone > 2 * MiB);
      const paused = await layover.api.pauseJob({ id: job.id });
      assert.equal(paused.state, 'paused');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const stillPaused = (await layover.api.listJobs()).find((status) => status.id === job.id)!;
      assert.equal(stillPaused.state, 'paused');
      const partialFiles = await readdir(join(layover.dataDir, 'prefetch', 'partial'));
      assert.equal(partialFiles.length, 1, 'the partial layer is kept while paused');

      const mark = await upstream.mark();
      await layover.api.resumeJob({ id: job.id });
      const done = await waitForJob(layover.api, job.id);
      assert.equal(done.state, 'done', done.error);
      const gets = await upstream.requests({ method: 'GET', pathIncludes: layer.digest, since: mark });
      assert.equal(gets.length, 1);
      assert.ok(gets[0]!.bytes < layer.size && gets[0]!.bytes > 0, `resumed with Range: ${gets[0]!.bytes} of ${layer.size} bytes`);
      assert.deepEqual(await readdir(join(layover.dataDir, 'prefetch', 'partial')), [], 'the partial file went into the store');

      await layover.instance.core.store.delete(layer.digest);
      const again = await layover.api.prefetch({ repository: 'library/app', tags: { kind: 'exact', tags: ['pausable'] }, bandwidthLimit: 3 * MiB });
      await waitForJobState(layover.api, again.id, (status) => status.bytesDone > 1 * MiB + status.bytesTotal - layer.size);
      const cancelled = await layover.api.cancelJob({ id: again.id });
      assert.equal(cancelled.state, 'cancelled');
      await waitForJobState(layover.api, again.id, (status) => status.bytesPerSecond === 0);
      // The cancelled transfer removes its partial file as it unwinds: wait for that state (bounded only to fail clearly), not a guessed pause.
      const partialDir = join(layover.dataDir, 'prefetch', 'partial');
      for (let polls = 0; (await readdir(partialDir)).length > 0 && polls < 3_000; polls++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.deepEqual(await readdir(partialDir), [], 'a cancelled job leaves no partial file');
      await assert.rejects(layover.api.resumeJob({ id: again.id }), /only a paused or failed job can be resumed/);
    } finally {
      await layover.stop();
    }
  });
});
