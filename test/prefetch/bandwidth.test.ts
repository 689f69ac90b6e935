/**
 * Sharing the link, measured on real transfers: a prefetch cap (per job, and
 * the registry's budget) holds within ±20% as a ratio of bytes over time to
 * the cap; and a client pull during a big prefetch over a slow shared link
 * takes about as long as the same pull alone (prefetch steps aside).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LinkShaper } from '../../src-main/demo/link-shaper.js';
import { writeSampleLayout, type SampleLayoutResult } from '../../src-main/demo/sample-images.js';
import { makeTempDir, removeTempDir, sleep } from '../support/process.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { pushSampleLayout, skopeoPull } from '../support/skopeo.js';
import { waitForJob, waitForJobState } from './support/jobs.js';
import { startPrefetchLayover, type PrefetchLayover } from './support/wiring.js';

const MiB = 1024 * 1024;

describe('sharing the link', () => {
  let work: string;
  let upstream: TestRegistry;
  let layout: SampleLayoutResult;
  const layovers: PrefetchLayover[] = [];
  let link: LinkShaper | undefined;

  before(async () => {
    work = await makeTempDir('bandwidth');
    layout = await writeSampleLayout(join(work, 'layout'), [
      { tag: 'capped', layers: [{ size: 6 * MiB, seed: 'capped' }] },
      { tag: 'budget', layers: [{ size: 9 * MiB, seed: 'budget' }] },
      { tag: 'big', layers: [{ size: 16 * MiB, seed: 'big-1' }, { size: 16 * MiB, seed: 'big-2' }] },
      { tag: 'pull-alone', layers: [{ size: 6 * MiB, seed: 'pull-alone' }] },
      { tag: 'pull-during', layers: [{ size: 6 * MiB, seed: 'pull-during' }] },
    ]);
    upstream = await startRegistry({ name: 'bandwidth-upstream' });
    await pushSampleLayout(layout, { registryHost: upstream.host, repository: 'library/app' });
  });
  after(async () => {
    for (const layover of layovers) await layover.stop();
    await link?.stop();
    await upstream?.destroy();
    if (work) await removeTempDir(work);
  });

  const fresh = async (upstreamUrl: string) => {
    const layover = await startPrefetchLayover({ upstream: upstreamUrl });
    layovers.push(layover);
    return layover;
  };

  test('a per-job cap holds within ±20% over a shaped transfer', async (t) => {
    const layover = await fresh(upstream.url);
    const cap = 2 * MiB;
    const job = await layover.api.prefetch({ repository: 'library/app', tags: { kind: 'exact', tags: ['capped'] }, bandwidthLimit: cap });
    const rate = await measureIngestRate(layover, () => waitForJob(layover.api, job.id));
    t.diagnostic(`job cap ${cap / MiB} MiB/s: measured ${(rate / MiB).toFixed(2)} MiB/s (ratio ${(rate / cap).toFixed(3)})`);
    assert.ok(rate / cap > 0.8 && rate / cap < 1.2, `measured ${(rate / MiB).toFixed(2)} MiB/s against a cap of ${cap / MiB} MiB/s (ratio ${(rate / cap).toFixed(2)})`);
  });

  test("the registry's budget holds within ±20% for prefetch", async (t) => {
    const layover = await fresh(upstream.url);
    const budget = 3 * MiB;
    const { registries } = await layover.api.getSettings();
    await layover.api.updateSettings({ registries: registries.map((registry) => ({ ...registry, bandwidthLimit: budget })) });
    const job = await layover.api.prefetch({ repository: 'library/app', tags: { kind: 'exact', tags: ['budget'] } });
    const rate = await measureIngestRate(layover, () => waitForJob(layover.api, job.id));
    t.diagnostic(`registry budget ${budget / MiB} MiB/s: measured ${(rate / MiB).toFixed(2)} MiB/s (ratio ${(rate / budget).toFixed(3)})`);
    assert.ok(rate / budget > 0.8 && rate / budget < 1.2, `measured ${(rate / MiB).toFixed(2)} MiB/s against a budget of ${budget / MiB} MiB/s (ratio ${(rate / budget).toFixed(2)})`);
  });

  test('a client pull during a big prefetch over a slow link is not slowed by more than a small margin', async (t) => {
    // The office link: 8 MiB/s shared by every connection over it, as TCP flows share a real line.
    link = await LinkShaper.start({ target: { host: '127.0.0.1', port: upstream.port }, link: { bandwidth: { shared: 8 * MiB }, latencyMs: 5 } });
    const layover = await fresh(link.url);
    const alone = await timed(() => skopeoPull({ reference: `${layover.host}/library/app:pull-alone` }));

    const job = await layover.api.prefetch({ repository: 'library/app', tags: { kind: 'exact', tags: ['big'] } });
    await waitForJobState(layover.api, job.id, (status) => status.bytesDone >= 4 * MiB);
    const during = await timed(() => skopeoPull({ reference: `${layover.host}/library/app:pull-during` }));
    const progressAfterPull = (await layover.api.listJobs()).find((status) => status.id === job.id)!;
    assert.ok(progressAfterPull.state === 'running', 'the prefetch was still running when the pull finished: they overlapped');

    const ratio = during / alone;
    t.diagnostic(`8 MiB/s shared link: pull of 6 MiB alone ${alone.toFixed(0)} ms, during a 32 MiB prefetch ${during.toFixed(0)} ms (ratio ${ratio.toFixed(3)})`);
    assert.ok(ratio < 1.3, `the pull took ${during.toFixed(0)} ms during the prefetch and ${alone.toFixed(0)} ms alone (ratio ${ratio.toFixed(2)})`);
    const finished = await waitForJob(layover.api, job.id, 60_000);
    assert.equal(finished.state, 'done', 'the prefetch carried on after the pull');
  });
});

async function timed(action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

/**
 * Bytes over time as the disk sees them (verified blobs plus files being written),
 * independent of the job's own accounting; the rate between 15% and 85% of
 * the transfer, so start-up and the last chunk do not count.
 */
async function measureIngestRate(layover: PrefetchLayover, finished: () => Promise<unknown>): Promise<number> {
  const samples: Array<{ at: number; bytes: number }> = [];
  let done = false;
  const sampling = (async () => {
    while (!done) {
      samples.push({ at: performance.now(), bytes: await bytesOnDisk(layover) });
      await sleep(50);
    }
  })();
  await finished();
  done = true;
  await sampling;
  const total = await bytesOnDisk(layover);
  const from = samples.find((sample) => sample.bytes >= total * 0.15)!;
  const to = [...samples].reverse().find((sample) => sample.bytes <= total * 0.85)!;
  assert.ok(to.at - from.at > 1_000, `measured over ${(to.at - from.at).toFixed(0)} ms: long enough to mean something`);
  return ((to.bytes - from.bytes) / (to.at - from.at)) * 1000;
}

/** Verified blobs, plus what is being written: the core's ingest files and prefetch's partial blobs. */
async function bytesOnDisk(layover: PrefetchLayover): Promise<number> {
  const inProgress = [join(layover.dataDir, 'ingest'), join(layover.dataDir, 'prefetch', 'partial')].map(async (dir) => {
    const files = await readdir(dir).catch(() => [] as string[]);
    const sizes = await Promise.all(files.map((file) => stat(join(dir, file)).then((info) => info.size, () => 0)));
    return sizes.reduce((sum, size) => sum + size, 0);
  });
  return layover.instance.core.store.usage.bytes + (await Promise.all(inProgress)).reduce((sum, bytes) => sum + bytes, 0);
}
