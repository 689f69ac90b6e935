/** The `layover serve` contract: one-line errors for what it meets at start, a log line per request, clean shutdown (each flag: serve-flags.test.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { freePort, LOOPBACK } from '../support/ports.js';
import { makeTempDir, removeTempDir, runCommand } from '../support/process.js';
import { adminHeaders, startLayoverProcess } from '../support/layover.js';
import { getJson } from '../support/http.js';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'layover.js');
const layover = (args: string[]) => runCommand(process.execPath, [CLI, ...args], { timeoutMs: 20_000 });

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
