/**
 * The dashboard at office size (issue 13, part 7), in Debian's Chromium
 * against the real headless core on a grown store: 2,000 repositories × 50
 * tags and 100,000 blobs (written with the store's own code, see
 * bench/grow-store.ts), and a day's worth of recent requests. Repositories
 * and Activity show one page at a time, searched by the core. What is
 * asserted is counted: rows on screen, what each API call answered, pages.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page, Response } from 'playwright-core';
import { callPath } from '../src-main/api/http-client.js';
import type { CachedRepositoryPage, RequestPage } from '../src-main/api/types.js';
import { growStore, repositoryName } from '../bench/grow-store.js';
import { startLayover, type LayoverUnderTest } from '../test/support/layover.js';
import { makeTempDir, removeTempDir } from '../test/support/process.js';
import { startRegistry, type TestRegistry } from '../test/support/registry.js';
import { launchChromium, watchForProblems } from './browser.js';

const REPOSITORIES = 2000;
const TAGS = 50;
/** The dashboard's page sizes (CachedRepositories.tsx, Activity.tsx). */
const PAGE_SIZE = 50;
const PULLS = 150;

describe('the dashboard on a grown store, in a browser', () => {
  let work: string;
  let upstream: TestRegistry;
  let layover: LayoverUnderTest;
  let browser: Browser;
  let page: Page;
  let problems: string[];

  before(async () => {
    work = await makeTempDir('e2e-grown');
    const dataDir = join(work, 'data');
    const grown = await growStore(dataDir, { repositories: REPOSITORIES, tagsPerRepository: TAGS });
    assert.equal(grown.blobs, 100_000);
    upstream = await startRegistry({ name: 'e2e-grown-upstream' });
    layover = await startLayover({ upstream: upstream.url, dataDir });
    // A busy morning: cached tags pulled by many clients' docker pulls (each a request the Activity page lists).
    for (let i = 0; i < PULLS; i++) {
      const response = await fetch(`${layover.url}/v2/${repositoryName(i % 60)}/manifests/1.0.${i % 10}`, { method: 'HEAD' });
      assert.equal(response.status, 200, `HEAD ${repositoryName(i % 60)}:1.0.${i % 10}`);
    }
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
    problems = watchForProblems(page);
    const link = layover.instance.dashboardLoginUrl();
    assert.ok(link, 'the admin listener is on');
    await page.goto(link);
    await page.getByTestId('sidebar-mirror-state').waitFor();
  });
  after(async () => {
    await browser?.close();
    await layover?.stop();
    await upstream?.destroy();
    if (work) await removeTempDir(work);
  });

  const open = async (route: string) => {
    await page.goto(`${layover.instance.adminUrl}/#/${route}`);
    await page.getByRole('heading', { level: 1 }).waitFor();
  };
  /** The next answer of one API method the page asks for, parsed. */
  const nextAnswer = <T>(method: 'listCachedRepositories' | 'listRequests', match: (body: T) => boolean = () => true) =>
    page.waitForResponse(async (response: Response) => {
      if (!response.url().endsWith(callPath(method))) return false;
      return match((await response.json()) as T);
    }).then(async (response) => (await response.json()) as T);
  const rows = async (testId: string) => page.getByTestId(testId).evaluateAll((elements) => elements.map((element) => (element as HTMLElement).dataset.repository ?? ''));

  test('the cache holds 2,000 repositories: the API answers a page at a time and every repository is on exactly one page', async () => {
    const api = layover.instance.api;
    const first = await api.listCachedRepositories({ registry: 'docker.io', limit: PAGE_SIZE });
    assert.equal(first.repositories.length, PAGE_SIZE);
    assert.equal(first.total, REPOSITORIES);
    assert.ok(first.next);
    assert.equal(first.repositories[0]!.cachedTags, TAGS);
    const seen = new Set<string>();
    let calls = 0;
    for (let cursor: string | undefined; ; ) {
      const next = await api.listCachedRepositories({ registry: 'docker.io', limit: 200, ...(cursor ? { cursor } : {}) });
      calls += 1;
      assert.ok(next.repositories.length <= 200);
      for (const repo of next.repositories) seen.add(repo.name);
      if (!(cursor = next.next)) break;
    }
    assert.equal(seen.size, REPOSITORIES);
    assert.equal(calls, REPOSITORIES / 200);
    await assert.rejects(api.listCachedRepositories({ limit: 100_000 }), /limit must be a whole number from 1 to 200/);
  });

  test('Repositories shows one page of what is cached and finds a repository by a part of its name', async () => {
    const firstAnswer = nextAnswer<CachedRepositoryPage>('listCachedRepositories');
    await open('repositories');
    const answered = await firstAnswer;
    assert.equal(answered.repositories.length, PAGE_SIZE, 'the API call returned one page');
    await page.getByTestId('cached-row').first().waitFor();
    const firstPage = await rows('cached-row');
    assert.equal(firstPage.length, PAGE_SIZE, 'rows rendered: one page');
    assert.match(await page.getByTestId('cached-total').innerText(), /2,?000 repositories cached in all/);

    const secondAnswer = nextAnswer<CachedRepositoryPage>('listCachedRepositories');
    await page.getByTestId('cached-pager').getByRole('button', { name: 'Next' }).click();
    assert.ok((await secondAnswer).repositories.length <= PAGE_SIZE);
    await page.getByTestId('cached-pager-number').filter({ hasText: 'Page 2' }).waitFor();
    const secondPage = await rows('cached-row');
    assert.ok(secondPage.length <= PAGE_SIZE && secondPage.length > 0);
    assert.equal(secondPage.filter((name) => firstPage.includes(name)).length, 0, 'page 2 holds other repositories');

    const wanted = repositoryName(1234);
    const searched = nextAnswer<CachedRepositoryPage>('listCachedRepositories', (body) => body.repositories.length === 1);
    await page.getByTestId('cached-search').fill('service-1234');
    assert.deepEqual((await searched).repositories.map((repo) => repo.name), [wanted], 'the core searched');
    await page.locator(`[data-testid="cached-row"][data-repository="${wanted}"]`).waitFor();
    assert.deepEqual(await rows('cached-row'), [wanted]);
    await page.getByRole('button', { name: `Show cached tags of ${wanted}` }).click();
    await page.getByRole('heading', { name: wanted }).waitFor();
    assert.deepEqual(problems, []);
  });

  test('Activity shows one page of recent pulls and searches them in the core', async () => {
    const firstAnswer = nextAnswer<RequestPage>('listRequests');
    await open('activity');
    assert.equal((await firstAnswer).requests.length, PAGE_SIZE, 'the API call returned one page');
    await page.getByTestId('request-row').first().waitFor();
    assert.equal((await rows('request-row')).length, PAGE_SIZE, 'rows rendered: one page');

    const olderAnswer = nextAnswer<RequestPage>('listRequests');
    await page.getByTestId('requests-pager').getByRole('button', { name: 'Next' }).click();
    assert.ok((await olderAnswer).requests.length <= PAGE_SIZE);
    await page.getByTestId('requests-pager-number').filter({ hasText: 'Page 2' }).waitFor();
    assert.ok((await rows('request-row')).length <= PAGE_SIZE);

    const wanted = repositoryName(7);
    const searched = nextAnswer<RequestPage>('listRequests', (body) => body.requests.every((request) => request.repository === wanted));
    await page.getByTestId('request-search').fill('service-0007');
    const found = await searched;
    // Requests 7, 67 and 127 of the morning's pulls were for service-0007.
    assert.equal(found.requests.length, 3);
    await page.getByTestId('requests-pager').waitFor({ state: 'detached' });
    assert.deepEqual(await rows('request-row'), [wanted, wanted, wanted]);
    assert.deepEqual(problems, []);
  });
});
