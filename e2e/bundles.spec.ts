/**
 * The Export and Import pages end to end in Debian's Chromium, against the
 * real headless core: Layover A (Debian's docker-registry upstream) holds
 * an image; its Export page shows the bundle's size before writing, then
 * writes a .tar.zst and names the file; Layover B, a second fresh core with
 * no upstream reachable, imports that file from its Import page, which
 * shows what was added; skopeo then pulls the image from B (bytes counted,
 * none from an upstream). A file that is no bundle, imported from the page,
 * shows a clear error naming it, and B holds exactly what it held before.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { writeSampleLayout, type SampleLayoutResult } from '../src-main/demo/sample-images.js';
import { startLayover, type LayoverUnderTest } from '../test/support/layover.js';
import { freePort } from '../test/support/ports.js';
import { makeTempDir, removeTempDir } from '../test/support/process.js';
import { startRegistry, type TestRegistry } from '../test/support/registry.js';
import { pushSampleLayout, skopeoCopy } from '../test/support/skopeo.js';
import { launchChromium, watchForProblems } from './browser.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Screenshots of the two pages, beside the dashboard test's (the README's come from there). */
const SCREENSHOTS = process.env.LAYOVER_SCREENSHOT_DIR ?? join(import.meta.dirname, 'output', 'screenshots');

describe('Export and Import pages in a browser, against two real cores', () => {
  let work: string;
  let upstream: TestRegistry;
  let a: LayoverUnderTest;
  let b: LayoverUnderTest;
  let browser: Browser;
  let layout: SampleLayoutResult;
  /** Console and page errors of every page opened. */
  const problems: string[][] = [];

  before(async () => {
    work = await makeTempDir('e2e-bundles');
    layout = await writeSampleLayout(join(work, 'layout'), [
      { tag: '1.0', layers: [{ size: 2 * MiB, seed: 'e2e-courier-base' }, { size: 512 * KiB, seed: 'e2e-courier-app' }] },
    ]);
    upstream = await startRegistry({ name: 'e2e-bundles-upstream' });
    await pushSampleLayout(layout, { registryHost: upstream.host, repository: 'library/courier' });
    a = await startLayover({ upstream: upstream.url });
    // B's upstream is a loopback port nothing listens on: the office with no link.
    b = await startLayover({ upstream: `http://127.0.0.1:${await freePort()}` });
    await a.instance.api.prefetch({ repository: 'library/courier', tags: { kind: 'exact', tags: ['1.0'] } });
    for (;;) {
      const jobs = await a.instance.api.listJobs();
      if (jobs.length > 0 && jobs.every((job) => job.state === 'done')) break;
      assert.ok(!jobs.some((job) => job.state === 'failed' || job.state === 'cancelled'), JSON.stringify(jobs));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    browser = await launchChromium();
    await mkdir(SCREENSHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await a?.stop();
    await b?.stop();
    await upstream?.destroy();
    if (work) await removeTempDir(work);
  });

  /** A page logged in to this instance (its one-time link), on a route of its dashboard. */
  const pageOf = async (instance: LayoverUnderTest, route: string): Promise<Page> => {
    const page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
    problems.push(watchForProblems(page));
    await page.goto(instance.instance.dashboardLoginUrl()!);
    await page.getByTestId('sidebar-mirror-state').waitFor();
    // The dashboard first goes to its landing page (the first run, on a fresh core): then to the route.
    await page.waitForURL(/#\/(overview|first-run)$/);
    await page.goto(`${instance.instance.adminUrl}/#/${route}`);
    await page.getByRole('heading', { level: 1, name: route === 'export' ? 'Export' : 'Import' }).waitFor();
    return page;
  };
  const screenshot = async (page: Page, name: string) => {
    await page.waitForTimeout(600); // progress bars ease to their value over 0.4 s
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  };
  const image = () => layout.tags[0]!;
  const bundle = () => join(work, 'office.tar.zst');
  /** What B holds: every blob, manifest and tag, to see that a refused import changed nothing. */
  const holdings = async (instance: LayoverUnderTest) => ({
    blobs: instance.instance.core.metadata.blobDigests(10_000),
    repositories: instance.instance.core.metadata.repositories(),
    tag: instance.instance.core.metadata.getTag('docker.io', 'library/courier', '1.0'),
    partial: await readdir(instance.instance.core.blobs.partials.dir).catch(() => []),
  });

  test('Export: choose a repository, see the size before anything is written, write a .tar.zst, see the file written', async () => {
    const page = await pageOf(a, 'export');
    await page.getByTestId('export-mode-repository').check();
    await page.getByTestId('export-repository').fill('library/courier');
    await page.getByLabel('Tags', { exact: true }).selectOption('exact');
    await page.getByTestId('export-tags').fill('1.0');
    await page.getByTestId('export-out').fill(bundle());
    await page.getByTestId('export-check').click();
    const size = page.getByTestId('export-plan-size');
    await size.waitFor();
    const plan = await a.instance.api.planExport({ selections: [{ kind: 'repository', repository: 'library/courier', tags: { kind: 'exact', tags: ['1.0'] } }], out: bundle() });
    assert.equal(plan.bytes, image().totalBytes);
    assert.match(await size.innerText(), /1 tag, 1 manifest and 3 blobs: 2\.5 MiB/);
    assert.equal(existsSync(bundle()), false, 'nothing written before the person asks');

    await page.getByTestId('export-start').click();
    await page.locator('[data-testid=bundle-task-state]', { hasText: 'done' }).waitFor({ timeout: 120_000 });
    const written = await page.getByTestId('export-written').innerText();
    assert.ok(written.includes(bundle()), written);
    assert.match(written, /in 3 blobs and 1 manifest/);
    const progress = page.getByTestId('bundle-task-progress');
    assert.deepEqual([await progress.getAttribute('value'), await progress.getAttribute('max')], [String(image().totalBytes), String(image().totalBytes)]);
    assert.equal(existsSync(bundle()), true);
    await screenshot(page, 'export');
  });

  test('Import on a second core with no upstream: the page shows what was added, and the image is then served from B alone', async () => {
    const page = await pageOf(b, 'import');
    await page.getByTestId('import-path').fill(bundle());
    await page.getByTestId('import-start').click();
    const counts = page.getByTestId('import-counts');
    await counts.waitFor({ timeout: 120_000 });
    const blobs = image().blobs.length;
    assert.match(await counts.innerText(), new RegExp(`^Added ${blobs} \\(2\\.5 MiB\\), already here 0, refused 0\\.$`));
    assert.equal(await page.getByTestId('import-refused').count(), 0);
    assert.equal(b.instance.core.metadata.getTag('docker.io', 'library/courier', '1.0')?.digest, image().digest);
    await screenshot(page, 'import');

    const before = (await b.instance.api.getStatus()).counters;
    const copied = await skopeoCopy({ source: `docker://${b.host}/library/courier:1.0`, destination: `dir:${join(work, 'pulled')}`, srcTlsVerify: false });
    assert.equal(copied.digest, image().digest);
    const counters = (await b.instance.api.getStatus()).counters;
    const configAndLayers = image().manifests[0]!.config.size + image().manifests[0]!.layers.reduce((sum, layer) => sum + layer.size, 0);
    // Config and layers from B's cache (the manifest's bytes may count too, as a stale-served tag).
    const served = counters.bytesServedFromCache - before.bytesServedFromCache;
    assert.ok(served >= configAndLayers && served <= image().totalBytes * 2, `${served} bytes served from B's cache, the image has ${configAndLayers} in config and layers`);
    assert.equal(counters.bytesFetchedUpstream, before.bytesFetchedUpstream, 'nothing from an upstream for the pull');
    assert.equal(counters.misses, before.misses, 'every request a hit');
  });

  test('a file that is no bundle: the page names it and says why, and B holds exactly what it held', async () => {
    const garbage = join(work, 'not-a-bundle.tar');
    await writeFile(garbage, Buffer.alloc(64 * KiB, 'not a bundle\n'));
    const held = await holdings(b);
    const page = await pageOf(b, 'import');
    await page.getByTestId('import-path').fill(garbage);
    await page.getByTestId('import-start').click();
    const refused = page.getByTestId('import-refused');
    await refused.waitFor({ timeout: 60_000 });
    const text = await refused.innerText();
    assert.ok(text.includes(garbage), text);
    assert.match(text, /damaged or truncated/);
    assert.match(await page.getByTestId('import-counts').innerText(), /^Added 0 \(0 B\), already here 0, refused 1\.$/);
    await page.getByTestId('import-nothing').waitFor();
    assert.equal(await page.getByTestId('bundle-task-state').innerText(), 'done');
    assert.deepEqual(await holdings(b), held);
    await screenshot(page, 'import-refused');

    // A path that is not there: the same, named.
    await page.getByTestId('import-path').fill(join(work, 'missing.tar'));
    await page.getByTestId('import-start').click();
    await page.getByTestId('import-refused').getByText(/missing\.tar/).waitFor({ timeout: 60_000 });
    assert.match(await page.getByTestId('import-refused').innerText(), /cannot read the bundle .*missing\.tar: ENOENT/);
    assert.deepEqual(await holdings(b), held);
    assert.deepEqual(problems.flat(), []);
  });
});
