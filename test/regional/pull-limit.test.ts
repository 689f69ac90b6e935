/**
 * Docker Hub's pull limit in view: a front written for the test puts Hub's
 * ratelimit-* headers on a real docker-registry's manifest answers, counts
 * manifest GETs against the limit (HEADs are free, as on Hub) and answers 429
 * once it is spent. Layover shows the figures in Status and /metrics, the
 * tray warns before they run out, revalidation stays on HEAD, and at 429 a
 * cached tag is served stale with the reason in the dashboard.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeSampleLayout, type SampleLayoutResult } from '../../src-main/demo/sample-images.js';
import { decideNotifications, emptyMemory, type NotifyMemory } from '../../src-main/electron/notifications.js';
import { trayMenuModel } from '../../src-main/electron/tray-menu.js';
import type { RateLimitStatus, Status } from '../../src-main/api/types.js';
import { makeTempDir, removeTempDir } from '../support/process.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { pushLayoutTag, pushSampleLayout, skopeoPull } from '../support/skopeo.js';
import { get } from '../support/http.js';
import { adminHeaders, startLayover, type LayoverUnderTest } from '../support/layover.js';
import { PullLimit, startFront, type Front } from './fronts.js';

const KiB = 1024;
const MANIFEST_ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';

describe('Docker Hub pull limits', () => {
  let work: string;
  let origin: TestRegistry;
  let hub: Front;
  let layover: LayoverUnderTest;
  let layout: SampleLayoutResult;
  const limit = new PullLimit(100);
  let memory: NotifyMemory = emptyMemory();

  const status = () => layover.instance.api.getStatus();
  const hubLimit = async (): Promise<RateLimitStatus | undefined> => (await status()).registries.find((r) => r.name === 'docker.io')!.endpoints[0]!.rateLimit;
  /** What the tray would show now: the notices decided from this status, and its menu's status lines. */
  const tray = async () => {
    const now: Status = await status();
    const decided = decideNotifications(memory, { kind: 'status', status: now, now: Date.now() });
    memory = decided.memory;
    const menu = trayMenuModel({ appearance: { statusLine: now.summary } as never, status: now, unavailable: new Set(), busy: new Set() });
    return { notices: decided.notices, lines: menu.filter((entry) => entry.kind === 'status').map((entry) => (entry as { label: string }).label) };
  };

  before(async () => {
    work = await makeTempDir('regional-pull-limit');
    layout = await writeSampleLayout(join(work, 'layout'), ['1.0', '2.0', '3.0', '4.0'].map((tag) => ({ tag, layers: [{ size: 64 * KiB, seed: `limit-${tag}` }] })));
    origin = await startRegistry({ name: 'hub-origin' });
    await pushSampleLayout(layout, { registryHost: origin.host, repository: 'library/app' });
    hub = await startFront({ target: origin.url, intercept: limit.intercept, addHeaders: limit.addHeaders });
    layover = await startLayover({ upstream: hub.url, settings: { tagFreshnessSeconds: 0 } });
    await tray(); // the first look: nothing to tell yet
  });
  after(async () => {
    await layover?.stop();
    await hub?.stop();
    await origin?.destroy();
    if (work) await removeTempDir(work);
  });

  test('the figures Hub states are in Status and /metrics', async () => {
    limit.used = 70;
    await skopeoPull({ reference: `${layover.host}/library/app:1.0` });
    assert.equal(limit.used, 71, 'one counted pull for one new tag');
    const stated = await hubLimit();
    assert.deepEqual(
      { limit: stated?.limit, remaining: stated?.remaining, windowSeconds: stated?.windowSeconds, source: stated?.source, low: stated?.low, exhausted: stated?.exhausted },
      { limit: 100, remaining: 29, windowSeconds: 21_600, source: '192.0.2.10', low: false, exhausted: false },
    );
    const metrics = await fetch(`${layover.instance.adminUrl}/metrics`, { headers: await adminHeaders({ adminUrl: layover.instance.adminUrl! }) }).then((r) => r.text());
    const series = (name: string) => metrics.split('\n').filter((line) => line.startsWith(`${name}{`));
    assert.deepEqual(series('layover_upstream_ratelimit_limit'), [`layover_upstream_ratelimit_limit{registry="docker.io",endpoint="${hub.url}"} 100`]);
    assert.deepEqual(series('layover_upstream_ratelimit_remaining'), [`layover_upstream_ratelimit_remaining{registry="docker.io",endpoint="${hub.url}"} 29`]);
    const { notices, lines } = await tray();
    assert.deepEqual({ notices: notices.length, lines: lines.length }, { notices: 0, lines: 1 }, 'plenty left: no warning, no extra tray line');
  });

  test('revalidating a cached tag is a HEAD, which the limit does not count', async () => {
    const before = { used: limit.used, gets: hub.count({ method: 'GET', pathIncludes: '/manifests/' }), heads: hub.count({ method: 'HEAD', pathIncludes: '/manifests/1.0' }) };
    for (let pull = 0; pull < 3; pull++) {
      const answer = await get(`${layover.url}/v2/library/app/manifests/1.0`, { accept: MANIFEST_ACCEPT });
      assert.equal(answer.headers['x-layover-cache'], 'revalidated');
    }
    assert.equal(limit.used, before.used);
    assert.equal(hub.count({ method: 'GET', pathIncludes: '/manifests/' }), before.gets);
    assert.equal(hub.count({ method: 'HEAD', pathIncludes: '/manifests/1.0' }), before.heads + 3);
  });

  test('the tray warns once before the limit runs out', async () => {
    limit.used = 85;
    await skopeoPull({ reference: `${layover.host}/library/app:2.0` });
    assert.equal((await hubLimit())?.remaining, 14);
    assert.equal((await hubLimit())?.low, true);
    const first = await tray();
    assert.deepEqual(first.notices.map((n) => [n.key, n.title]), [['pull-limit:docker.io', 'docker.io: 14 of 100 pulls left per 6 h']]);
    assert.deepEqual(first.lines.slice(1), ['docker.io: 14 of 100 pulls left per 6 h']);
    assert.equal((await tray()).notices.length, 0, 'told once, not at every status');
  });

  test('at 429 a cached tag whose upstream moved is served stale with the usual headers, and the dashboard says why', async () => {
    // The tag moves upstream (a HEAD shows a new digest), but the limit is spent: the new manifest cannot be fetched.
    await pushLayoutTag({ layoutDir: layout.dir!, tag: '3.0', destinationTag: '1.0', registryHost: origin.host, repository: 'library/app' });
    limit.used = limit.limit;
    const cachedDigest = layout.tags.find((t) => t.tag === '1.0')!.digest;
    const refusedBefore = hub.count({ method: 'GET', pathIncludes: '/manifests/', status: 429 });
    const answer = await get(`${layover.url}/v2/library/app/manifests/1.0`, { accept: MANIFEST_ACCEPT });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['docker-content-digest'], cachedDigest);
    assert.equal(answer.headers['x-layover-cache'], 'stale');
    assert.equal(answer.headers.warning, '110 layover "Response is stale: upstream pull limit reached"');
    assert.equal(hub.count({ method: 'GET', pathIncludes: '/manifests/', status: 429 }), refusedBefore + 1);

    const activity = await layover.instance.api.getActivity();
    const record = activity.requests.find((r) => r.kind === 'manifest' && r.reference === '1.0' && r.cache === 'stale');
    assert.match(record?.staleReason ?? '', /rate-limiting/);
    const explained = activity.events.filter((e) => e.level === 'warning' && e.registry === 'docker.io' && /Served library\/app:1\.0 from the cache without checking docker\.io: .*rate-limiting/.test(e.message));
    assert.equal(explained.length, 1);

    const stated = await hubLimit();
    assert.deepEqual({ remaining: stated?.remaining, exhausted: stated?.exhausted }, { remaining: 0, exhausted: true });
    assert.equal(typeof stated?.retryAt, 'number', 'Retry-After is kept');
    const { notices, lines } = await tray();
    assert.deepEqual(notices.map((n) => [n.key, n.title]), [['pull-limit:docker.io', 'docker.io pull limit reached']]);
    assert.equal(lines[1], 'docker.io: pull limit reached (429): 100 pulls per 6 h');

    // A tag never cached has nothing to serve: the client gets Hub's 429 and its Retry-After.
    const uncached = await get(`${layover.url}/v2/library/app/manifests/4.0`, { accept: MANIFEST_ACCEPT });
    assert.equal(uncached.status, 429);
    assert.equal(uncached.headers['retry-after'], '3600');
  });
});
