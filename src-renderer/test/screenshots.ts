/**
 * Takes screenshots of every page, light and dark, in Debian's Chromium,
 * against the preview server (built dashboard + fake API). Fails if the page
 * logs a CSP violation or any error.
 *
 *   npx vite build --config src-renderer/vite.config.ts
 *   npx tsx src-renderer/test/screenshots.ts [outDir]
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { createFakeApi, emptyState, sampleState } from './fake-api.js';
import { finishedDemo, runningDemo } from './fake-demo.js';
import { startPreviewServer } from './preview-server.js';

const outDir = resolve(process.argv[2] ?? fileURLToPath(new URL('./screenshots', import.meta.url)));
await mkdir(outDir, { recursive: true });

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
});
const problems: string[] = [];
const watch = (page: Page, name: string): void => {
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`${name}: console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`${name}: page error: ${error.message}`));
};

const sample = await startPreviewServer({ fake: createFakeApi(sampleState()) });
const freshState = emptyState();
freshState.catalog['dtr.example.com'] = sampleState().catalog['dtr.example.com']!;
freshState.connection = (endpoint) =>
  endpoint.url.includes('bad')
    ? { ok: false, url: endpoint.url, error: 'Get "https://bad.example.com/v2/": x509: certificate signed by unknown authority' }
    : { ok: true, url: endpoint.url, latencyMs: 48, auth: 'bearer' };
const fresh = await startPreviewServer({ fake: createFakeApi(freshState) });
try {
  for (const scheme of ['light', 'dark'] as const) {
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, colorScheme: scheme, deviceScaleFactor: 1 });
    const page = await context.newPage();
    watch(page, scheme);
    for (const name of ['overview', 'repositories', 'activity', 'docker', 'settings'] as const) {
      await page.goto(`${sample.url}/#/${name}`);
      await page.getByRole('heading', { level: 1 }).waitFor();
      await page.waitForLoadState('networkidle').catch(() => undefined);
      if (name === 'repositories') {
        await page.getByLabel('Registry', { exact: true }).selectOption('dtr.example.com');
        await page.getByRole('button', { name: 'Show tags of platform/build-agent' }).click();
        await page.locator('[data-testid=tag-row]').first().waitFor();
      }
      await page.waitForTimeout(300);
      await page.screenshot({ path: `${outDir}/${name}-${scheme}.png`, fullPage: true });
    }
    for (const [name, demo] of [['running', runningDemo], ['done', finishedDemo]] as const) {
      sample.fake.state.demo = demo(Date.now());
      await page.goto(`${sample.url}/#/demo`);
      await page.locator('[data-testid=demo-pull]').first().waitFor();
      sample.fake.emit({ type: 'demo', demo: sample.fake.state.demo }); // as the live stream delivers it
      await page.locator(`[data-testid=demo-pull][data-kind=cold][data-state=${name === 'done' ? 'done' : 'running'}]`).waitFor();
      await page.waitForTimeout(600); // the bars' width transition
      await page.screenshot({ path: `${outDir}/demo-${name}-${scheme}.png`, fullPage: true });
    }
    await page.goto(`${sample.url}/#/repositories`);
    await page.getByRole('button', { name: 'Edit rule for platform/base-*' }).click();
    await page.locator('[data-testid=rule-editor]').screenshot({ path: `${outDir}/rule-editor-${scheme}.png` });

    await page.goto(`${fresh.url}/`);
    await page.locator('[data-testid=first-run]').waitFor();
    await page.screenshot({ path: `${outDir}/first-run-${scheme}.png`, fullPage: true });
    if (scheme === 'light') {
      await page.getByLabel('Registry URL').fill('https://bad.example.com');
      await page.getByRole('button', { name: 'Test connection' }).click();
      await page.getByTestId('connection-error').waitFor();
      await page.screenshot({ path: `${outDir}/first-run-error-${scheme}.png`, fullPage: true });
      await page.getByLabel('Registry URL').fill('https://dtr.example.com');
      await page.getByRole('button', { name: 'Test connection' }).click();
      await page.getByTestId('first-run-continue').click();
      await page.getByLabel('platform/build-agent').check();
      await page.getByLabel('web/storefront').check();
      await page.screenshot({ path: `${outDir}/first-run-repositories-${scheme}.png`, fullPage: true });
      await page.getByTestId('first-run-prefetch').click();
      await page.getByTestId('config-diff').waitFor();
      await page.screenshot({ path: `${outDir}/first-run-docker-${scheme}.png`, fullPage: true });
    }
    await page.goto(`${fresh.url}/#/overview`);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${outDir}/overview-empty-${scheme}.png`, fullPage: true });
    await context.close();
  }
  const narrow = await browser.newContext({ viewport: { width: 720, height: 900 }, colorScheme: 'light' });
  const small = await narrow.newPage();
  watch(small, 'narrow');
  await small.goto(`${sample.url}/#/overview`);
  await small.getByTestId('hit-ratio').waitFor();
  await small.screenshot({ path: `${outDir}/overview-narrow-light.png`, fullPage: true });
  await narrow.close();
} finally {
  await browser.close();
  await sample.close();
  await fresh.close();
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exitCode = 1;
}
console.log(`screenshots in ${outDir}${problems.length ? `, with ${problems.length} problems` : ''}`);
