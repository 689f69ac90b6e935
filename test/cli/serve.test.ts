/** The `layover serve` contract: one-line errors for what it meets at start, a log line per request, clean shutdown (each flag: serve-flags.test.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { freePort, isPortOpen, LOOPBACK } from '../support/ports.js';
import { makeTempDir, removeTempDir, runCommand, startProcess } from '../support/process.js';
import { findAdminToken } from '../../src-main/app/admin-credentials.js';
import { adminHeaders, startLayoverProcess } from '../support/layover.js';
import { getJson } from '../support/http.js';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'layover.js');
/** The bound only ends a hang: a loaded machine (load average past 20 on 2 cores here) takes seconds just to load the CLI. */
const layover = (args: string[]) => runCommand(process.execPath, [CLI, ...args], { timeoutMs: 120_000 });

test('a port in use and an unusable data dir are reported in one line', async () => {
  const work = await makeTempDir('cli');
  const blocker = createServer();
  const port = await freePort();
  await new Promise<void>((resolve) => blocker.listen(port, LOOPBACK, resolve));
  try {
    const inUse = await layover(['serve', '--data', join(work, 'a'), '--listen', `${LOOPBACK}:${port}`, '--admin', `${LOOPBACK}:${await freePort()}`]);
    assert.notEqual(inUse.code, 0);
    assert.equal(inUse.stderr.trim(), `layover: mirror address ${LOOPBACK}:${port} is already in use: stop what is listening there or choose another port`);
    const file = join(work, 'not-a-dir');
    await writeFile(file, 'x');
    const notDir = await layover(['serve', '--data', file, '--listen', `${LOOPBACK}:0`, '--admin', `${LOOPBACK}:0`]);
    assert.notEqual(notDir.code, 0);
    assert.match(notDir.stderr.trim(), /^layover: data directory .*not-a-dir is not usable: (EEXIST|ENOTDIR)/);
    const settingsDir = join(work, 'bad-settings');
    await mkdir(settingsDir);
    await writeFile(join(settingsDir, 'settings.json'), '{ not json');
    const badSettings = await layover(['serve', '--data', settingsDir]);
    assert.match(badSettings.stderr.trim(), /^layover: settings file .*settings.json is not valid JSON/);
    assert.equal(await readFile(join(settingsDir, 'settings.json'), 'utf8'), '{ not json', 'the bad file is left untouched');
    await chmod(settingsDir, 0o755);
  } finally {
    blocker.close();
    await removeTempDir(work);
  }
});

test('serve logs one JSON line per request, announces itself, and stops cleanly on SIGTERM', async () => {
  const work = await makeTempDir('cli-serve');
  const dataDir = join(work, 'data');
  const running = await startLayoverProcess({ dataDir, upstream: 'http://127.0.0.1:1' });
  try {
    await getJson(`${running.url}/v2/library/x/manifests/latest`);
    const line = await running.process.waitForLine(/"url":"\/v2\/library\/x\/manifests\/latest"/);
    const entry = JSON.parse(line) as { req: { method: string; url: string }; status: number };
    assert.equal(entry.req.method, 'GET');
    assert.equal(entry.status, 503);
    const instance = JSON.parse(await readFile(join(dataDir, 'instance.json'), 'utf8')) as { mirrorAddress: string; adminUrl: string };
    assert.equal(instance.mirrorAddress, running.host);
    assert.equal(instance.adminUrl, running.adminUrl);
    const metrics = await fetch(`${running.adminUrl}/metrics`, { headers: await adminHeaders(running) }).then((r) => r.text());
    assert.match(metrics, /^layover_cache_misses_total \d+$/m);
    assert.match(metrics, /^layover_upstream_errors_total \d+$/m);
  } finally {
    const exit = await running.process.stop();
    assert.equal(exit.code, 0, 'SIGTERM is a clean shutdown');
    await assert.rejects(readFile(join(dataDir, 'instance.json')), 'the instance file is removed');
    await removeTempDir(work);
  }
});

/** A metadata.json as an older Layover left it: importing it into the index is a start-up step that takes a while. */
function metadataJson(repositories: number, tagsPerRepository: number): string {
  const digestOf = (n: number) => `sha256:${createHash('sha256').update(String(n)).digest('hex')}`;
  const repos: Record<string, unknown> = {};
  const manifests: Record<string, unknown> = {};
  for (let r = 0; r < repositories; r++) {
    const tags: Record<string, unknown> = {};
    for (let t = 0; t < tagsPerRepository; t++) {
      const digest = digestOf(r * tagsPerRepository + t);
      tags[`v${t}`] = { digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', checkedAt: 1_700_000_000_000 };
      manifests[digest] = { mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 500 };
    }
    repos[`team/service-${r}`] = { tags, lastAccess: 1_700_000_000_000 + r };
  }
  return JSON.stringify({ version: 1, registries: { 'docker.io': repos }, manifests, access: {} });
}

const IMPORTING = /importing the data directory into the metadata index/;
const IMPORTED = /imported the data directory into the metadata index/;

test('a SIGTERM during start-up lets the step finish, stops what started and exits 0, leaving no token or instance file', async (t) => {
  const work = await makeTempDir('cli-serve-startup');
  const dataDir = join(work, 'data');
  try {
    await mkdir(dataDir, { mode: 0o700 });
    await writeFile(join(dataDir, 'metadata.json'), metadataJson(1_500, 40));
    const [port, adminPort] = [await freePort(), await freePort()];
    const serving = await startProcess({
      name: 'layover',
      command: process.execPath,
      args: [CLI, 'serve', '--data', dataDir, '--listen', `${LOOPBACK}:${port}`, '--admin', `${LOOPBACK}:${adminPort}`, '--upstream', 'http://127.0.0.1:1'],
      logFile: join(work, 'layover.log'),
      // Start-up is under way: the index import has begun, the listeners are not up yet.
      ready: { kind: 'log', pattern: IMPORTING },
    });
    serving.signal('SIGTERM');
    const exit = await serving.exited;
    const log = serving.tail(200);
    const at = (pattern: RegExp) => (JSON.parse(log.split('\n').find((line) => pattern.test(line)) ?? '{}') as { time?: string }).time;
    t.diagnostic(`import began ${at(IMPORTING)}, stop asked ${at(/stop asked/)}, import done ${at(IMPORTED)}`);
    assert.match(log, /stop asked during start-up/, 'the signal landed during start-up');
    assert.deepEqual(exit, { code: 0, signal: null }, `a clean exit, not a death by signal:\n${log}`);
    assert.match(log, IMPORTED, 'the import the signal interrupted was finished, not cut off');
    assert.match(log, /shutting down/);
    await assert.rejects(readFile(join(dataDir, 'instance.json')), 'no instance file is left to point a CLI at a stopped Layover');
    assert.equal(await findAdminToken(`http://${LOOPBACK}:${adminPort}`), undefined, 'the admin token file is removed');
    for (const closed of [port, adminPort]) assert.equal(await isPortOpen(closed), false, `nothing listens on ${closed} any more`);
  } finally {
    await removeTempDir(work);
  }
});
