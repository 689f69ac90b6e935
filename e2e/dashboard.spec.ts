/**
 * The dashboard end to end in Debian's Chromium, against the real headless
 * core (`layover serve`'s admin listener), Debian's docker-registry and a
 * real dockerd. The browser logs in as a person does, through a one-time
 * link; every form is checked by what reached the core (or the engine).
 * Screenshots of each page go to LAYOVER_SCREENSHOT_DIR (default
 * e2e/output/screenshots); the README's come from here.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { writeSampleLayout } from '../src-main/demo/sample-images.js';
import { startDockerd, type TestDockerd } from '../test/support/dockerd.js';
import { startLayover, type LayoverUnderTest } from '../test/support/layover.js';
import { makeTempDir, removeTempDir } from '../test/support/process.js';
import { startRegistry, type TestRegistry } from '../test/support/registry.js';
import { pushSampleLayout, skopeoPull } from '../test/support/skopeo.js';
import { launchChromium, watchForProblems } from './browser.js';

const SCREENSHOTS = process.env.LAYOVER_SCREENSHOT_DIR ?? join(import.meta.dirname, 'output', 'screenshots');
const MiB = 1024 * 1024;

describe('the dashboard in a browser, against the real core', () => {
  let work: string;
  let upstream: TestRegistry;
  let layover: LayoverUnderTest;
  let dockerd: TestDockerd;
  let previousDockerHost: string | undefined;
  let browser: Browser;
  let page: Page;
  let problems: string[];

  before(async () => {
    work = await makeTempDir('e2e-dashboard');
    const layout = await writeSampleLayout(join(work, 'layout'), [
      { tag: '1.0', layers: [{ size: 6 * MiB, seed: 'e2e-base' }, { size: 2 * MiB, seed: 'e2e-app-1.0' }] },
      { tag: '1.1', layers: [{ size: 6 * MiB, seed: 'e2e-base' }, { size: 2 * MiB, seed: 'e2e-app-1.1' }] },
      { tag: 'latest', layers: [{ size: 6 * MiB, seed: 'e2e-base' }, { size: 2 * MiB, seed: 'e2e-app-1.1' }] },
    ]);
    upstream = await startRegistry({ name: 'e2e-upstream' });
    for (const repository of ['library/webapp', 'library/worker']) await pushSampleLayout(layout, { registryHost: upstream.host, repository });
    layover = await startLayover({ upstream: upstream.url, registries: [`dtr.example.com=${upstream.url}`], settings: { tagFreshnessSeconds: 0 } });
    // The Docker page talks to a real engine: an isolated dockerd that already uses the mirror.
    dockerd = await startDockerd({ daemonConfig: { 'registry-mirrors': [layover.url] } });
    previousDockerHost = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = dockerd.host;
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
    problems = watchForProblems(page);
    await logIn(page);
    await mkdir(SCREENSHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    if (previousDockerHost === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = previousDockerHost;
    await dockerd?.stop();
    await layover?.stop();
    await upstream?.destroy();
    if (work) await removeTempDir(work);
  });

  /** What `layover dashboard` hands a person: a one-time link that sets the session cookie and lands on the dashboard. */
  const logIn = async (browserPage: Page) => {
    await browserPage.goto(loginLink());
    await browserPage.getByTestId('sidebar-mirror-state').waitFor();
  };
  const loginLink = () => {
    const link = layover.instance.dashboardLoginUrl();
    assert.ok(link, 'the admin listener is on');
    return link;
  };
  const withFreshBrowser = async (use: (context: BrowserContext) => Promise<void>) => {
    const context = await browser.newContext();
    try {
      await use(context);
    } finally {
      await context.close();
    }
  };
  const open = async (route: string) => {
    await page.goto(`${layover.instance.adminUrl}/#/${route}`);
    await page.getByRole('heading', { level: 1 }).waitFor();
  };
  const coreRules = async () => (await layover.instance.api.listRules()).map((status) => status.rule);
  /** The registry mirrors the engine itself reports (Docker API /info), not what a file says. */
  const engineMirrors = async () => (await dockerd.info()).RegistryConfig?.Mirrors ?? [];
  const screenshot = async (name: string) => {
    await page.waitForTimeout(600); // progress bars ease to their value over 0.4 s
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  };

  test('without the one-time login the dashboard asks to log in and shows nothing; a used link does not work twice', async () => {
    const link = loginLink();
    await withFreshBrowser(async (context) => {
      const stranger = await context.newPage();
      await stranger.goto(`${layover.instance.adminUrl}/#/overview`);
      await stranger.getByTestId('logged-out').waitFor();
      assert.equal(await stranger.getByRole('heading', { level: 1 }).innerText(), 'Log in to Layover');
      assert.equal(await stranger.getByTestId('sidebar-mirror-state').count(), 0, 'no status');
      assert.ok(!(await stranger.locator('body').innerText()).includes(layover.host), 'not even the mirror address');
      await stranger.goto(link);
      await stranger.getByTestId('sidebar-mirror-state').waitFor();
      assert.equal(new URL(stranger.url()).pathname, '/', 'the link lands on the dashboard');
      const [session] = (await context.cookies()).filter((cookie) => cookie.name.startsWith('layover_session_'));
      assert.deepEqual({ httpOnly: session?.httpOnly, sameSite: session?.sameSite }, { httpOnly: true, sameSite: 'Strict' });
    });
    await withFreshBrowser(async (context) => {
      const second = await context.newPage();
      const refused = await second.goto(link);
      assert.equal(refused?.status(), 401);
      assert.match(await second.locator('body').innerText(), /already used or has expired/);
      assert.deepEqual(await context.cookies(), [], 'no session for a used code');
      await second.goto(`${layover.instance.adminUrl}/#/overview`);
      await second.getByTestId('logged-out').waitFor();
    });
  });

  test('first run: a failing connection shows the exact error, a working one is saved', async () => {
    await open('first-run');
    await page.getByTestId('first-run-url').fill('http://127.0.0.1:1');
    await page.getByTestId('first-run-test').click();
    const error = page.getByTestId('connection-error');
    await error.waitFor();
    assert.match(await error.innerText(), /ECONNREFUSED 127\.0\.0\.1:1/);
    await page.getByTestId('first-run-url').fill(upstream.url);
    await page.getByTestId('first-run-test').click();
    await page.getByTestId('connection-ok').waitFor();
    await screenshot('first-run');
    await page.getByTestId('first-run-continue').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=first-run]')?.getAttribute('data-step') !== 'connect');
    const settings = await layover.instance.api.getSettings();
    assert.ok(settings.registries.some((registry) => registry.endpoints.some((endpoint) => endpoint.url === upstream.url && registry.name === upstream.host)),
      'the registry from the first run is in the settings');
  });

  test('a skopeo pull through the mirror appears in Activity without a reload', async () => {
    await open('activity');
    await skopeoPull({ reference: `${layover.host}/library/webapp:1.0` });
    await skopeoPull({ reference: `${layover.host}/library/webapp:1.0` });
    const row = page.locator('[data-testid=request-row][data-repository="library/webapp"]').first();
    await row.waitFor({ timeout: 10_000 });
    await page.locator('[data-testid=request-row][data-repository="library/webapp"][data-cache=hit]').first().waitFor({ timeout: 10_000 });
    await screenshot('activity');
  });

  test('the overview shows hits, bytes served from cache and upstream health', async () => {
    await open('overview');
    await page.getByText(/[1-9]\d* hits? · \d+ miss/).waitFor({ timeout: 10_000 }); // the counters arrive live, at most a second late
    const status = await layover.instance.api.getStatus();
    assert.ok(status.counters.hits > 0);
    await screenshot('overview');
    for (const route of ['settings']) {
      await open(route);
      await page.waitForLoadState('networkidle').catch(() => undefined);
      await screenshot(route);
    }
  });

  test('settings: a change saved in the form reaches the core and is there after a reload', async () => {
    await open('settings');
    await page.getByLabel('Cache quota unit').selectOption('GiB');
    await page.getByTestId('settings-quota').fill('50');
    await page.getByTestId('settings-save').click();
    await page.getByTestId('settings-saved').waitFor();
    assert.equal(layover.instance.core.settings.quotaBytes, 50 * 1024 * MiB);
    await page.reload();
    await page.getByRole('heading', { level: 1 }).waitFor();
    assert.equal(await page.getByTestId('settings-quota').inputValue(), '50');
    assert.equal(await page.getByLabel('Cache quota unit').inputValue(), 'GiB');
  });

  test('settings: a value the core refuses comes back as its error in the form, and nothing changes', async () => {
    await open('settings');
    const before = structuredClone(layover.instance.core.settings);
    await page.locator('[data-testid=registry-editor][data-registry="dtr.example.com"]').getByLabel('Registry name').fill('dtr example');
    await page.getByTestId('settings-save').click();
    const error = page.locator('.save-bar [role=alert]');
    await error.waitFor();
    assert.match(await error.innerText(), /registries\.\d+\.name: a registry name is a host name, optionally with :port/);
    assert.deepEqual(layover.instance.core.settings, before, 'the core kept its settings');
    await page.getByRole('button', { name: 'Discard changes' }).click();
    await page.locator('[data-testid=registry-editor][data-registry="dtr.example.com"]').waitFor();
  });

  test('prefetch rules: create, list, edit and delete a rule in the editor; the core holds exactly what the form says', async () => {
    await open('repositories');
    const rules = page.getByTestId('rules');
    await rules.getByRole('button', { name: 'New rule' }).click();
    const editor = page.getByTestId('rule-editor');
    await editor.getByLabel('Registry').selectOption('docker.io');
    await editor.getByLabel('Repository').fill('library/webapp');
    await editor.getByLabel('Exact tags').check();
    await editor.getByLabel('Tags, separated by commas').fill('1.1');
    await editor.getByLabel('Enabled').uncheck(); // a rule that never runs on its own keeps the other tests' jobs apart
    await editor.getByRole('button', { name: 'Save rule' }).click();
    const row = rules.getByTestId('rule-row');
    await row.waitFor();
    const [created] = await coreRules();
    assert.deepEqual({ ...created, id: undefined }, {
      id: undefined, registry: 'docker.io', repository: 'library/webapp', tags: { kind: 'exact', tags: ['1.1'] },
      platforms: 'host', schedule: { kind: 'window', start: '19:00', end: '07:00' }, enabled: false,
    });
    assert.equal(await row.getAttribute('data-rule-id'), created!.id);
    assert.match(await row.innerText(), /library\/webapp[\s\S]*1\.1/);

    await rules.getByRole('button', { name: 'Edit rule for library/webapp' }).click();
    await editor.getByLabel('Tags, separated by commas').fill('1.0, 1.1');
    await editor.getByRole('button', { name: 'Save rule' }).click();
    await rules.getByTestId('rule-row').filter({ hasText: '1.0, 1.1' }).waitFor();
    const edited = await coreRules();
    assert.deepEqual(edited.map((rule) => [rule.id, rule.tags]), [[created!.id, { kind: 'exact', tags: ['1.0', '1.1'] }]], 'the same rule, changed');

    await rules.getByRole('button', { name: 'Delete rule for library/webapp' }).click();
    await rules.getByRole('button', { name: 'Confirm deleting the rule for library/webapp' }).click();
    await rules.getByTestId('rules-empty').waitFor();
    assert.deepEqual(await coreRules(), []);
  });

  test('prefetch a repository from the Repositories page and watch its job reach done', async () => {
    await open('repositories');
    await page.getByLabel('Registry', { exact: true }).selectOption('docker.io');
    await page.getByRole('button', { name: 'Prefetch library/worker' }).click();
    const job = page.locator('[data-testid=job-row][data-repository="library/worker"]').first();
    await job.waitFor({ timeout: 15_000 });
    await page.locator('[data-testid=job-row][data-repository="library/worker"][data-state=done]').first().waitFor({ timeout: 60_000 });
    await page.locator('[data-testid=repository-row][data-repository="library/worker"]').getByText('1 tag cached').waitFor({ timeout: 10_000 });
    const jobs = await layover.instance.api.listJobs();
    assert.ok(jobs.some((j) => j.repository === 'library/worker' && j.state === 'done' && j.bytesDone === j.bytesTotal && j.bytesTotal > 0));
    await screenshot('repositories');
  });

  test('the Docker page shows the real engine using Layover, and pulls a DTR image through it', async () => {
    await open('docker');
    await page.locator('[data-testid=docker-uses-layover][data-state=yes]').waitFor({ timeout: 15_000 });
    await page.getByTestId('pull-reference').fill('dtr.example.com/library/worker:1.1');
    await page.getByRole('button', { name: 'Pull through Layover' }).click();
    await page.getByTestId('pull-result').waitFor({ timeout: 60_000 });
    const images = await dockerd.dockerChecked(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.match(images.stdout, /^dtr\.example\.com\/library\/worker:1\.1$/m, 'the image keeps its own name in Docker');
    await screenshot('docker');
  });

  test('the Docker page reverts and configures the real engine: daemon.json changes, and the engine lists the mirror or not', async () => {
    await open('docker');
    const usesLayover = (state: 'yes' | 'no') => page.locator(`[data-testid=docker-uses-layover][data-state=${state}]`).waitFor({ timeout: 30_000 });
    await usesLayover('yes');
    await page.getByRole('button', { name: 'Stop using Layover' }).click();
    await page.getByRole('button', { name: 'Revert daemon.json' }).click();
    await usesLayover('no');
    assert.deepEqual(await engineMirrors(), [], 'the engine no longer lists Layover');
    assert.deepEqual((await dockerd.readConfig())['registry-mirrors'], []);

    await page.getByRole('button', { name: 'Use Layover' }).click();
    await page.getByRole('button', { name: 'Apply to daemon.json' }).click();
    await usesLayover('yes');
    assert.deepEqual(await engineMirrors(), [`${layover.url}/`], 'the engine lists Layover again');
    assert.deepEqual((await dockerd.readConfig())['registry-mirrors'], [layover.url]);
  });

  test('the demo runs three pulls side by side and shows the warm pull moved nothing over the link', async () => {
    await open('demo');
    await page.getByTestId('demo-profile').selectOption('branch-office');
    await page.getByLabel('Image size (MiB)').fill('8');
    await page.getByTestId('demo-run').click();
    await page.getByTestId('demo-summary').waitFor({ timeout: 90_000 });
    assert.match(await page.getByTestId('demo-summary').innerText(), /0 bytes over the office link/);
    const warm = page.locator('[data-testid=demo-pull][data-kind=warm]');
    assert.equal(await warm.getAttribute('data-state'), 'done');
    await screenshot('demo');
  });

  test('stopping the upstream turns the state to offline', async () => {
    await open('overview');
    await upstream.stop();
    try {
      await skopeoPull({ reference: `${layover.host}/library/webapp:1.0` }); // served stale from the cache
      await page.locator('[data-testid=sidebar-mirror-state][data-state=offline]').waitFor({ timeout: 15_000 });
      await screenshot('overview-offline');
    } finally {
      await upstream.start();
    }
  });

  test('no console errors or CSP violations on any page', () => {
    assert.deepEqual(problems.filter((problem) => !/Failed to load resource/.test(problem)), []);
  });
});
