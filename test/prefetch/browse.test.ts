/**
 * Browsing the upstream: the catalog of a real docker-registry page by page
 * (registry:catalog:* scope, Link headers), a typed name that is always
 * offered, the cache's list when the upstream is out, and DTR's repositories
 * API with X-Next-Page-Start. DTR itself cannot run here (it is Mirantis'
 * product), so its API is a small loopback server that answers as DTR does.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { writeSampleLayout } from '../../src-main/demo/sample-images.js';
import { UpstreamBrowser } from '../../src-main/prefetch/upstream-browser.js';
import { LOOPBACK } from '../support/ports.js';
import { makeTempDir, removeTempDir } from '../support/process.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { pushLayoutTag } from '../support/skopeo.js';
import { prefetchDone, waitForJob } from './support/jobs.js';
import { startPrefetchLayover, type PrefetchLayover } from './support/wiring.js';

const REPOSITORIES = ['library/app', 'team/db', 'team/tools', 'team/web'];

describe('browsing the upstream', () => {
  let work: string;
  let upstream: TestRegistry;
  let dtr: { server: Server; url: string; catalogAsked: number };
  let layover: PrefetchLayover;

  before(async () => {
    work = await makeTempDir('browse');
    const layout = await writeSampleLayout(join(work, 'layout'), [{ tag: '1', layers: [{ size: 4096, seed: 'browse' }] }]);
    upstream = await startRegistry({ name: 'browse-upstream' });
    for (const repository of REPOSITORIES) await pushLayoutTag({ layoutDir: layout.dir!, tag: '1', registryHost: upstream.host, repository });
    dtr = await startFakeDtr(150);
    layover = await startPrefetchLayover({ upstream: upstream.url, registries: [`dtr.example.com=${dtr.url}`] });
  });
  after(async () => {
    await layover?.stop();
    await new Promise((resolve) => dtr?.server.close(resolve));
    await upstream?.destroy();
    if (work) await removeTempDir(work);
  });

  test("the registry's catalog, page by page", async () => {
    const browser = new UpstreamBrowser(layover.instance.core, 2);
    const first = await browser.listRepositories({ registry: 'docker.io' });
    assert.equal(first.source, 'catalog');
    assert.deepEqual(first.repositories.map((r) => r.name), REPOSITORIES.slice(0, 2));
    assert.ok(first.next, 'a cursor for the next page');
    const second = await browser.listRepositories({ registry: 'docker.io', cursor: first.next! });
    assert.deepEqual(second.repositories.map((r) => r.name), REPOSITORIES.slice(2));
    assert.equal(second.next, undefined, 'the last page has no cursor');
    const whole = await layover.api.listRepositories({ registry: 'docker.io' });
    assert.deepEqual(whole.repositories.map((r) => r.name), REPOSITORIES, 'the API pages by 100');
    await assert.rejects(layover.api.listRepositories({ registry: 'docker.io', cursor: 'made-up' }), /not one Layover gave out/);
  });

  test('a query filters, and a typed name is always offered', async () => {
    const found = await layover.api.listRepositories({ registry: 'docker.io', query: 'team/t' });
    assert.deepEqual(found.repositories.map((r) => r.name), ['team/t', 'team/tools'], 'the typed name first: it can be prefetched whatever the catalog says');
    const exact = await layover.api.listRepositories({ registry: 'docker.io', query: 'team/web' });
    assert.deepEqual(exact.repositories.map((r) => r.name), ['team/web']);
  });

  test('with the upstream out, the cache says what it holds', async () => {
    await prefetchDone(layover.api, { repository: 'team/db', tags: { kind: 'exact', tags: ['1'] } });
    await upstream.stop();
    try {
      const page = await layover.api.listRepositories({ registry: 'docker.io' });
      assert.equal(page.source, 'cache');
      assert.deepEqual(page.repositories, [{ name: 'team/db', cached: true, cachedTags: 1 }]);
      const tags = await layover.api.listTags({ registry: 'docker.io', repository: 'team/db' });
      assert.deepEqual(tags.map((t) => [t.tag, t.state]), [['1', 'in-sync']], 'tag states answer offline from the cache');
    } finally {
      await upstream.start();
    }
  });

  test('a rule over a repository glob runs one job per repository the catalog matches', async () => {
    const rule = await layover.api.saveRule({
      id: 'team', registry: 'docker.io', repository: 'team/*', tags: { kind: 'exact', tags: ['1'] },
      platforms: 'host', schedule: { kind: 'interval', hours: 24 }, enabled: false,
    });
    const jobs = await layover.api.syncNow({ ruleId: rule.id });
    assert.deepEqual(jobs.map((job) => job.repository).sort(), ['team/db', 'team/tools', 'team/web']);
    for (const job of jobs) assert.equal((await waitForJob(layover.api, job.id)).state, 'done');
    const [status] = await layover.api.listRules();
    assert.deepEqual(status!.tags.map((tag) => [tag.tag, tag.state]).sort(), [['team/db:1', 'in-sync'], ['team/tools:1', 'in-sync'], ['team/web:1', 'in-sync']]);
    await layover.api.deleteRule({ id: rule.id });
  });

  test("a DTR: its repositories API with X-Next-Page-Start, not its incomplete catalog", async () => {
    const first = await layover.api.listRepositories({ registry: 'dtr.example.com' });
    assert.equal(first.source, 'dtr');
    assert.equal(first.repositories.length, 100);
    assert.equal(first.repositories[0]!.name, 'eng/app-000');
    const second = await layover.api.listRepositories({ registry: 'dtr.example.com', cursor: first.next! });
    assert.deepEqual(second.repositories.map((r) => r.name), Array.from({ length: 50 }, (_, i) => `eng/app-${String(100 + i).padStart(3, '0')}`));
    assert.equal(second.next, undefined);
    assert.equal(dtr.catalogAsked, 0, 'the catalog was never needed');
    const filtered = await layover.api.listRepositories({ registry: 'dtr.example.com', query: 'app-14' });
    assert.deepEqual(filtered.repositories.map((r) => r.name).slice(1), Array.from({ length: 10 }, (_, i) => `eng/app-14${i}`), 'a filter reads on through the pages');
  });
});

/** DTR's /api/v0/repositories: pageSize and pageStart in, the next start in X-Next-Page-Start. Its catalog lists only 3. */
async function startFakeDtr(count: number): Promise<{ server: Server; url: string; catalogAsked: number }> {
  const names = Array.from({ length: count }, (_, i) => `app-${String(i).padStart(3, '0')}`);
  const state = { catalogAsked: 0 };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://dtr');
    if (url.pathname === '/api/v0/repositories') {
      const size = Number(url.searchParams.get('pageSize') ?? 10);
      const start = Number(url.searchParams.get('pageStart') ?? 0);
      const page = names.slice(start, start + size);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (start + size < names.length) headers['x-next-page-start'] = String(start + size);
      res.writeHead(200, headers).end(JSON.stringify({ repositories: page.map((name) => ({ namespace: 'eng', name, visibility: 'private' })) }));
      return;
    }
    if (url.pathname === '/v2/_catalog') {
      state.catalogAsked += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ repositories: names.slice(0, 3).map((n) => `eng/${n}`) }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const { port } = server.address() as { port: number };
  return {
    server, url: `http://${LOOPBACK}:${port}`,
    get catalogAsked() {
      return state.catalogAsked;
    },
  };
}
