/**
 * Sharing the link, on real transfers, asserted on what the bandwidth budget
 * counts rather than on how long things took (speed belongs in `npm run bench`):
 * - a job's cap and a registry's budget charge every byte of the prefetch, and
 *   over every span between two charges the bytes charged stay within
 *   burst + rate × span: a loaded machine can only make the span longer, never
 *   let more bytes through;
 * - neither asks to wait longer than its bytes cost at its rate (a cap set too
 *   slow would): a loaded machine can only shorten what is asked for;
 * - while a client pull moves bytes, prefetch bytes are not let through
 *   (only the keep-alive allowance of a transfer that cannot stop): the order
 *   of grants shows the pull first, then prefetch carrying on to the end.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Charge, Grant } from '../../src-main/core/upstream/bandwidth.js';
import { LinkShaper } from '../../src-main/demo/link-shaper.js';
import { writeSampleLayout, type SampleLayoutResult } from '../../src-main/demo/sample-images.js';
import { makeTempDir, removeTempDir } from '../support/process.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { pushSampleLayout, skopeoPull } from '../support/skopeo.js';
import { waitForJob, waitForJobState } from './support/jobs.js';
import { startPrefetchLayover, type PrefetchLayover } from './support/wiring.js';

const MiB = 1024 * 1024;
/** Each wait is asked in whole milliseconds (rounded up), and a timer may fire a little early and be asked again. */
const ROUNDING_MS_PER_CHARGE = 2;

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

  /** Config and layer bytes of a tag: what a prefetch of it moves through the budget. */
  const blobBytesOf = (tag: string) => {
    const manifests = layout.tags.find((candidate) => candidate.tag === tag)!.manifests;
    return manifests.reduce((sum, manifest) => sum + manifest.config.size + manifest.layers.reduce((layers, layer) => layers + layer.size, 0), 0);
  };

  test("a job's cap charges every byte of the job and never lets more through than burst + rate × time", async (t) => {
    const layover = await fresh(upstream.url);
    const grants = recordGrants(layover);
    const cap = 2 * MiB;
    const job = await layover.api.prefetch({ repository: 'library/app', tags: { kind: 'exact', tags: ['capped'] }, bandwidthLimit: cap });
    assert.equal((await waitForJob(layover.api, job.id, 60_000)).state, 'done');

    const charges = grants.list.filter((grant) => grant.kind === 'prefetch').map((grant) => ({ bytes: grant.bytes, charge: grant.cap }));
    assert.ok(charges.every((entry) => entry.charge?.rate === cap), 'every prefetch chunk was charged to the job cap, at its rate');
    assert.equal(sum(charges.map((entry) => entry.bytes)), blobBytesOf('capped'), 'the cap charged exactly the bytes of the job');
    const report = checkCharges(charges.map(({ bytes, charge }) => ({ bytes, charge: charge! })));
    t.diagnostic(`job cap ${cap / MiB} MiB/s: ${charges.length} charges; waits asked ${report.waitedMs} ms of at most ${report.waitAllowedMs.toFixed(0)} ms`);
  });

  test("the registry's budget charges every prefetch byte and never lets more through than burst + rate × time", async (t) => {
    const layover = await fresh(upstream.url);
    const grants = recordGrants(layover);
    const budget = 3 * MiB;
    const { registries } = await layover.api.getSettings();
    await layover.api.updateSettings({ registries: registries.map((registry) => ({ ...registry, bandwidthLimit: budget })) });
    const job = await layover.api.prefetch({ repository: 'library/app', tags: { kind: 'exact', tags: ['budget'] } });
    assert.equal((await waitForJob(layover.api, job.id, 60_000)).state, 'done');

    const charges = grants.list.filter((grant) => grant.kind === 'prefetch').map((grant) => ({ bytes: grant.bytes, charge: grant.budget }));
    assert.ok(charges.every((entry) => entry.charge?.rate === budget), "every prefetch chunk was charged to the registry's budget, at its rate");
    assert.equal(sum(charges.map((entry) => entry.bytes)), blobBytesOf('budget'), 'the budget charged exactly the bytes of the job');
    const report = checkCharges(charges.map(({ bytes, charge }) => ({ bytes, charge: charge! })));
    t.diagnostic(`registry budget ${budget / MiB} MiB/s: ${charges.length} charges; waits asked ${report.waitedMs} ms of at most ${report.waitAllowedMs.toFixed(0)} ms`);
  });

  test("a client pull's bytes go first: no prefetch bytes pass while the pull moves, and prefetch carries on after it", async (t) => {
    // The office link: 8 MiB/s shared by every connection over it, so the 32 MiB prefetch is still running when the pull comes.
    link = await LinkShaper.start({ target: { host: '127.0.0.1', port: upstream.port }, link: { bandwidth: { shared: 8 * MiB }, latencyMs: 5 } });
    const layover = await fresh(link.url);
    const grants = recordGrants(layover);

    const job = await layover.api.prefetch({ repository: 'library/app', tags: { kind: 'exact', tags: ['big'] } });
    await waitForJobState(layover.api, job.id, (status) => status.bytesDone >= 4 * MiB);
    const beforePull = grants.list.length;
    await skopeoPull({ reference: `${layover.host}/library/app:pull-during` });
    const finished = await waitForJob(layover.api, job.id, 120_000);
    assert.equal(finished.state, 'done', 'the prefetch carried on after the pull');

    const order = grants.list.slice(beforePull);
    const firstPull = order.findIndex((grant) => grant.kind === 'pull');
    const lastPull = order.findLastIndex((grant) => grant.kind === 'pull');
    assert.ok(firstPull >= 0, 'the pull moved its bytes through the budget');
    assert.equal(sum(order.filter((grant) => grant.kind === 'pull').map((grant) => grant.bytes)), blobBytesOf('pull-during'), "the pull's bytes were all counted as pull bytes");
    const during = order.slice(firstPull, lastPull + 1).filter((grant) => grant.kind === 'prefetch');
    const after = order.slice(lastPull + 1).filter((grant) => grant.kind === 'prefetch');
    const keepAlives = during.filter((grant) => grant.keepAlive).length;
    t.diagnostic(`${lastPull - firstPull + 1} grants while the pull moved its ${blobBytesOf('pull-during')} bytes: ${during.length} of them prefetch (${keepAlives} keep-alive); ${after.length} prefetch grants after it`);
    // A prefetch chunk already past the check when the pull's first chunk came may still land: at most one per prefetch transfer (two at once).
    const admittedBefore = during.filter((grant) => !grant.keepAlive).length;
    assert.ok(admittedBefore <= 2, `${admittedBefore} prefetch chunks (${sum(during.map((grant) => grant.bytes))} bytes) passed while the pull was moving its bytes`);
    // The keep-alive lets one chunk per waiting transfer through per keep-alive interval; the big layers stop and resume by Range instead.
    const pullSpanMs = order[lastPull]!.at - order[firstPull]!.at;
    assert.ok(keepAlives <= 2 * (1 + Math.floor(pullSpanMs / 5_000)), `${keepAlives} keep-alive chunks in ${pullSpanMs.toFixed(0)} ms of pull`);
    assert.ok(after.length > 0, 'prefetch bytes passed again after the pull');
    assert.ok(grants.list.slice(0, beforePull + firstPull).some((grant) => grant.kind === 'prefetch'), 'prefetch was moving bytes before the pull came');
  });
});

function recordGrants(layover: PrefetchLayover): { list: Grant[] } {
  const list: Grant[] = [];
  layover.prefetch.budget.onGrant((grant) => list.push(grant));
  return { list };
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/**
 * One bucket's charges, in the order it made them (a bucket serves its takers
 * in turn). Over the span between any two charges, the bytes of the first up
 * to (not including) the second are at most its burst plus rate × span, on
 * the bucket's own clock; and the waits it asked for add up to no more than
 * its bytes cost at its rate.
 */
function checkCharges(charges: Array<{ bytes: number; charge: Charge }>): { waitedMs: number; waitAllowedMs: number } {
  assert.ok(charges.length > 10, `${charges.length} charges: enough to mean something`);
  const { rate, burst } = charges[0]!.charge;
  for (let first = 0; first < charges.length; first++) {
    let bytes = 0;
    for (let next = first + 1; next < charges.length; next++) {
      bytes += charges[next - 1]!.bytes;
      const spanMs = charges[next]!.charge.at - charges[first]!.charge.at;
      const allowed = burst + (rate * spanMs) / 1000;
      if (bytes > allowed + 1) {
        assert.fail(`charges ${first}–${next - 1}: ${bytes} bytes in ${spanMs.toFixed(1)} ms, more than the burst (${burst}) plus ${rate} bytes/s allow (${allowed.toFixed(0)})`);
      }
    }
  }
  const totalBytes = sum(charges.map((entry) => entry.bytes));
  const waitedMs = sum(charges.map((entry) => entry.charge.waitedMs));
  const waitAllowedMs = (totalBytes / rate) * 1000 + ROUNDING_MS_PER_CHARGE * charges.length;
  assert.ok(waitedMs <= waitAllowedMs, `the bucket asked to wait ${waitedMs} ms for ${totalBytes} bytes, which cost at most ${waitAllowedMs.toFixed(0)} ms at ${rate} bytes/s`);
  return { waitedMs, waitAllowedMs };
}
