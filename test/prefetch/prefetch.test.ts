/**
 * Prefetch against Debian's docker-registry (CNCF distribution 2.8): the
 * tags a selector picks, the platforms an index is descended into (counted
 * in the registry's access log), offline pulls of what was prefetched, sync
 * state of rules, and quota eviction that keeps what rules pin.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { TagSelector } from '../../src-main/api/types.js';
import { writeSampleLayout, type SampleLayoutResult } from '../../src-main/demo/sample-images.js';
import { hostPlatform } from '../../src-main/prefetch/platforms.js';
import { makeTempDir, removeTempDir, sleep } from '../support/process.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { pushLayoutTag, pushSampleLayout, skopeoPull } from '../support/skopeo.js';
import { blobGetsSince, blobsOf, prefetchDone, waitForJob } from './support/jobs.js';
import { startPrefetchLayover, type PrefetchLayover } from './support/wiring.js';

const KiB = 1024;
const VERSION_TAGS = ['1.0', '1.1', '1.2', '2.0', 'latest'];
const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
];

describe('prefetch from a real docker-registry', () => {
  let work: string;
  let upstream: TestRegistry;
  let layout: SampleLayoutResult;
  const layovers: PrefetchLayover[] = [];

  before(async () => {
    work = await makeTempDir('prefetch');
    layout = await writeSampleLayout(join(work, 'layout'), [
      ...VERSION_TAGS.map((tag) => ({ tag, layers: [{ size: 256 * KiB, seed: `app-${tag}` }] })),
      { tag: 'multi', layers: [{ size: 192 * KiB, seed: 'multi' }], platforms: PLATFORMS },
    ]);
    upstream = await startRegistry({ name: 'prefetch-upstream' });
    await pushSampleLayout(layout, { registryHost: upstream.host, repository: 'library/app' });
  });
  after(async () => {
    for (const layover of layovers) await layover.stop();
    await upstream?.destroy();
    if (work) await removeTempDir(work);
  });

  const tagOf = (tag: string) => layout.tags.find((t) => t.tag === tag)!;
  const fresh = async (settings: Parameters<typeof startPrefetchLayover>[0]['settings'] = {}, tuning = {}) => {
    const layover = await startPrefetchLayover({ upstream: upstream.url, settings, tuning });
    layovers.push(layover);
    return layover;
  };

  test('selectors pick exactly the right tags, and only their blobs are fetched', async () => {
    const cases: Array<[TagSelector, string[]]> = [
      [{ kind: 'exact', tags: ['1.1', 'latest'] }, ['1.1', 'latest']],
      [{ kind: 'glob', pattern: '1.*' }, ['1.0', '1.1', '1.2']],
      [{ kind: 'semver', range: '>=1.1 <2' }, ['1.1', '1.2']],
      [{ kind: 'newest', count: 2 }, ['2.0', '1.2']],
    ];
    for (const [selector, expected] of cases) {
      const layover = await fresh();
      const mark = await upstream.mark();
      const job = await prefetchDone(layover.api, { repository: 'library/app', tags: selector });
      assert.deepEqual(job.tags, expected, `${JSON.stringify(selector)} picks ${expected.join(', ')}`);
      assert.deepEqual(await blobGetsSince(upstream, mark), expected.flatMap((tag) => blobsOf(tagOf(tag))).sort(), 'exactly their configs and layers, each once');
      const totals = expected.map((tag) => tagOf(tag).manifests[0]!).reduce((sum, m) => sum + m.config.size + m.layers.reduce((s, l) => s + l.size, 0), 0);
      assert.equal(job.bytesTotal, totals, 'the total is the sum of the descriptors, known before the transfer');
      assert.equal(job.bytesDone, job.bytesTotal);
      assert.equal(job.blobsDone, job.blobsTotal);
    }
  });

  test('a multi-platform index fetches only the chosen platforms', async () => {
    const layover = await fresh();
    const multi = tagOf('multi');
    let mark = await upstream.mark();
    const arm64 = await prefetchDone(layover.api, { repository: 'library/app', tags: { kind: 'exact', tags: ['multi'] }, platforms: [{ os: 'linux', architecture: 'arm64' }] });
    assert.deepEqual(await blobGetsSince(upstream, mark), blobsOf(multi, 'arm64'), 'only linux/arm64');
    assert.equal(arm64.blobsTotal, 2);

    mark = await upstream.mark();
    await prefetchDone(layover.api, { repository: 'library/app', tags: { kind: 'exact', tags: ['multi'] } });
    const host = hostPlatform().architecture;
    assert.deepEqual(await blobGetsSince(upstream, mark), host === 'arm64' ? [] : blobsOf(multi, host), `the default is this machine's platform (linux/${host})`);

    mark = await upstream.mark();
    const all = await prefetchDone(layover.api, { repository: 'library/app', tags: { kind: 'exact', tags: ['multi'] }, platforms: 'all' });
    const rest = PLATFORMS.map((p) => p.architecture).filter((arch) => arch !== 'arm64' && arch !== host).flatMap((arch) => blobsOf(multi, arch)).sort();
    assert.deepEqual(await blobGetsSince(upstream, mark), rest, 'all: the platforms not fetched yet, and nothing twice');
    assert.equal(all.blobsTotal, 6);

    const wrong = await layover.api.prefetch({ repository: 'library/app', tags: { kind: 'exact', tags: ['multi'] }, platforms: [{ os: 'windows', architecture: 'amd64' }] });
    const failed = await waitFor(layover, wrong.id);
    assert.equal(failed.state, 'failed');
    assert.match(failed.error!, /has no image for windows\/amd64; it offers linux\/amd64, linux\/arm64, linux\/arm\/v7/);
  });

  test('after prefetch the upstream can be stopped: the selected tags still pull, the others do not', async () => {
    const layover = await fresh({ tagFreshnessSeconds: 0 });
    await prefetchDone(layover.api, { repository: 'library/app', tags: { kind: 'exact', tags: ['1.0', 'multi'] } });
    await upstream.stop();
    try {
      const pulled = await skopeoPull({ reference: `${layover.host}/library/app:1.0` });
      assert.equal(pulled.digest, tagOf('1.0').digest);
      const multi = await skopeoPull({ reference: `${layover.host}/library/app:multi`, platform: hostPlatform() });
      assert.equal(multi.digest, tagOf('multi').manifests.find((m) => m.platform.architecture === hostPlatform().architecture)!.digest);
      await assert.rejects(skopeoPull({ reference: `${layover.host}/library/app:1.1` }), /1\.1|unavailable|manifest unknown|50[0-9]/i);
    } finally {
      await upstream.start();
    }
  });

  test('rule sync state: missing, in sync, stale when the upstream moves the tag, in sync again', async () => {
    await pushSampleLayout(layout, { registryHost: upstream.host, repository: 'team/moving' });
    const layover = await fresh({}, { tickMs: 100, checkEveryMs: 200 });
    const before = await layover.api.listTags({ registry: 'docker.io', repository: 'team/moving' });
    assert.deepEqual(before.map((t) => [t.tag, t.state]), [...VERSION_TAGS, 'multi'].sort().map((tag) => [tag, 'missing']));

    const rule = await layover.api.saveRule({
      id: '', registry: 'docker.io', repository: 'team/moving', tags: { kind: 'exact', tags: ['1.2'] },
      platforms: 'host', schedule: { kind: 'interval', hours: 24 }, enabled: true,
    });
    assert.ok(rule.id, 'a new rule gets an id');
    assert.deepEqual((await layover.api.getSettings()).rules.map((r) => r.id), [rule.id], 'rules live in the settings');
    let status = await waitForRule(layover, (s) => s.tags[0]?.state === 'in-sync');
    assert.equal(status.tags[0]!.cachedDigest, tagOf('1.2').digest);
    assert.ok(status.lastSuccess && status.nextRun! - status.lastSuccess >= 23.9 * 3600_000, 'next run a day later');

    await pushLayoutTag({ layoutDir: layout.dir!, tag: '2.0', destinationTag: '1.2', registryHost: upstream.host, repository: 'team/moving' });
    status = await waitForRule(layover, (s) => s.tags[0]?.state === 'stale');
    assert.equal(status.tags[0]!.upstreamDigest, tagOf('2.0').digest, 'the check (a HEAD) saw the move');
    assert.equal(status.tags[0]!.cachedDigest, tagOf('1.2').digest, 'and fetched nothing');

    const [job] = await layover.api.syncNow({ ruleId: rule.id });
    assert.equal((await waitFor(layover, job!.id)).state, 'done');
    status = await waitForRule(layover, (s) => s.tags[0]?.state === 'in-sync');
    assert.equal(status.tags[0]!.cachedDigest, tagOf('2.0').digest);
    const tags = await layover.api.listTags({ registry: 'docker.io', repository: 'team/moving' });
    assert.equal(tags.find((t) => t.tag === '1.2')?.state, 'in-sync');
    assert.equal(tags.find((t) => t.tag === '1.0')?.state, 'missing');

    await layover.api.deleteRule({ id: rule.id });
    assert.deepEqual(await layover.api.listRules(), []);
  });

  test('quota eviction keeps what rules pin and what is being read; least recently used goes first', async () => {
    const bytesOf = (digests: string[]) => layout.blobs.filter((b) => digests.includes(b.digest)).reduce((sum, b) => sum + b.size, 0);
    const busyLayer = tagOf('1.1').manifests[0]!.layers[0]!.digest;
    const stays = tagOf('1.0').totalBytes + tagOf('2.0').totalBytes + bytesOf([busyLayer]);
    const quota = Math.round(stays / 0.9) + 8 * KiB;
    const layover = await fresh({ quotaBytes: quota });
    await layover.api.saveRule({
      id: 'keep-1.0', registry: 'docker.io', repository: 'library/app', tags: { kind: 'exact', tags: ['1.0'] },
      platforms: 'host', schedule: { kind: 'now' }, enabled: true,
    });
    await waitForRule(layover, (s) => s.tags[0]?.state === 'in-sync');
    for (const tag of ['1.1', '1.2', '2.0']) {
      await skopeoPull({ reference: `${layover.host}/library/app:${tag}` });
      await sleep(20); // distinct access times
    }
    const core = layover.instance.core;
    // A client is reading the least recently used layer (the open touched it; it is made old again here).
    // A client that takes the first bytes and never finishes reading them keeps the send (and the reader) open.
    const reader = new Writable({ write: () => undefined });
    const source = await core.blobs.open({ client: core.router.default, repository: 'library/app', digest: busyLayer, kind: 'pull' });
    const sending = source.sendTo(reader, 0, 10, () => undefined).catch(() => undefined);
    core.metadata.touch(busyLayer, undefined, undefined, 1);
    try {
      assert.ok(core.store.usage.bytes > quota, 'over the quota before gc');
      const report = await layover.prefetch.gc();
      assert.ok(report.freedBytes > 0 && report.bytesUsed <= quota * 0.9, report.summary);
      assert.equal(report.busyBlobs, 1, 'the blob being read was skipped');
      assert.notEqual(await core.store.sizeOf(busyLayer), undefined, 'busy blob kept');
      for (const digest of blobsOf(tagOf('1.0'))) assert.notEqual(await core.store.sizeOf(digest), undefined, `pinned ${digest} kept`);
      const olderLayer = tagOf('1.2').manifests[0]!.layers[0]!.digest;
      assert.equal(await core.store.sizeOf(olderLayer), undefined, 'the less recently used layer was evicted (just enough to get under the quota)');
      for (const digest of blobsOf(tagOf('2.0'))) assert.notEqual(await core.store.sizeOf(digest), undefined, `recently used ${digest} kept`);
      assert.match(report.summary, /^freed .* in \d+ blobs; the cache holds .* of .* \(.* pinned by prefetch rules, 1 in use\)$/);
    } finally {
      reader.destroy();
      await sending;
    }
  });

  const waitFor = (layover: PrefetchLayover, id: string) => waitForJob(layover.api, id);

  async function waitForRule(layover: PrefetchLayover, until: (status: Awaited<ReturnType<typeof layover.api.listRules>>[number]) => boolean) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const [status] = await layover.api.listRules();
      if (status && until(status)) return status;
      if (Date.now() > deadline) throw new Error(`rule never got there: ${JSON.stringify(status)}`);
      await sleep(50);
    }
  }
});
