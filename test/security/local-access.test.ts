/**
 * What other users of the machine, and requests that name a foreign host,
 * can do to a Layover: the real `layover serve`, a real docker-registry
 * upstream and skopeo; another user is `nobody`, through setpriv.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { tokenDir } from '../../src-main/app/admin-credentials.js';
import { initTls, tlsFiles } from '../../src-main/app/tls/certificates.js';
import { defaultSettings } from '../../src-main/app/settings.js';
import { writeSampleLayout } from '../../src-main/demo/sample-images.js';
import { startLayover, startLayoverProcess, type LayoverProcess } from '../support/layover.js';
import { makeTempDir, removeTempDir, runCommand } from '../support/process.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { pushSampleLayout, skopeoPull } from '../support/skopeo.js';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'layover.js');
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];

/** A GET with exactly this Host header (fetch will not send a made-up one). */
function getWithHost(url: string, host: string, tls = false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const send = tls ? httpsRequest : httpRequest;
    const req = send(url, { headers: { host }, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

/** Every file and directory below root, with its permission bits. */
async function modesBelow(root: string): Promise<Array<{ path: string; mode: number }>> {
  const entries = await readdir(root, { recursive: true });
  return Promise.all(entries.map(async (entry) => ({ path: entry, mode: await modeOf(join(root, entry)) })));
}

describe('host names: only the names Layover is reached by (DNS rebinding)', () => {
  test('the mirror and the admin listener refuse a foreign Host, naming the setting; their own names work', async () => {
    const layover = await startLayover({ upstream: 'http://127.0.0.1:1', settings: { allowedHosts: ['layover.office.test'] } });
    try {
      const mirrorPort = new URL(layover.url).port;
      const adminPort = new URL(layover.instance.adminUrl!).port;
      for (const [url, port] of [[`${layover.url}/v2/`, mirrorPort], [`${layover.instance.adminUrl}/healthz`, adminPort]] as const) {
        const refused = await getWithHost(url, `rebind.attacker.test:${port}`);
        assert.equal(refused.status, 403, url);
        assert.match(refused.body, /rebind\.attacker\.test.*DNS rebinding.*allowedHosts/);
        for (const name of ['127.0.0.1', 'localhost', '[::1]', 'host.docker.internal', 'layover.office.test', 'LOCALHOST.']) {
          assert.equal((await getWithHost(url, `${name}:${port}`)).status, 200, `${name} on ${url}`);
        }
        assert.equal((await getWithHost(url, 'evil.localhost.attacker.test')).status, 403, 'a name that merely contains an allowed one');
      }
    } finally {
      await layover.stop();
    }
  });

  test('the names of the TLS certificate are served', async () => {
    const work = await makeTempDir('hosts-tls');
    try {
      await initTls(work, ['cache.office.test', '127.0.0.1']);
      const files = tlsFiles(work);
      const layover = await startLayover({ upstream: 'http://127.0.0.1:1', settings: { tls: { certFile: files.serverCert, keyFile: files.serverKey } } });
      try {
        const url = `https://${layover.host}/v2/`;
        assert.equal((await getWithHost(url, 'cache.office.test', true)).status, 200);
        assert.equal((await getWithHost(url, 'other.office.test', true)).status, 403);
      } finally {
        await layover.stop();
      }
    } finally {
      await removeTempDir(work);
    }
  });
});

describe('other users of the machine', () => {
  let work: string;
  let upstream: TestRegistry;
  let serve: LayoverProcess;
  let dataDir: string;

  before(async () => {
    work = await makeTempDir('local-users');
    dataDir = join(work, 'data');
    // A data folder from before this version: world-readable, with a world-readable settings file.
    await mkdir(dataDir, { recursive: true });
    await chmod(dataDir, 0o755);
    await writeFile(join(dataDir, 'settings.json'), JSON.stringify(defaultSettings()), { mode: 0o644 });
    await chmod(join(dataDir, 'settings.json'), 0o644);
    upstream = await startRegistry({ name: 'local-users-upstream' });
    const layout = await writeSampleLayout(join(work, 'layout'), [{ tag: 'v1', layers: [{ size: 512 * 1024, seed: 'private-layer' }] }]);
    await pushSampleLayout(layout, { registryHost: upstream.host, repository: 'library/private' });
    serve = await startLayoverProcess({ dataDir, upstream: upstream.url });
  });
  after(async () => {
    await serve?.process.stop();
    await upstream?.destroy();
    if (work) await removeTempDir(work);
  });

  test('a data folder that existed world-readable is made private at start, and the log says so', async () => {
    assert.equal(await modeOf(dataDir), 0o700);
    assert.equal(await modeOf(join(dataDir, 'settings.json')), 0o600);
    await serve.process.waitForLine(/made it private to its owner/);
  });

  test('cached blobs, the index and everything else Layover writes are its owner\'s alone', async () => {
    await skopeoPull({ reference: `${serve.host}/library/private:v1` });
    const modes = await modesBelow(dataDir);
    assert.ok(modes.some((entry) => entry.path.startsWith('blobs') && (entry.mode & 0o777) === 0o600), 'blob files exist and are 0600');
    const open = modes.filter((entry) => (entry.mode & 0o077) !== 0);
    assert.deepEqual(open, [], 'nothing under the data folder is readable by group or others');
  });

  test('another user can neither read the admin token nor list the cache', async () => {
    const port = new URL(serve.adminUrl).port;
    const tokenFile = join(tokenDir(), `127.0.0.1_${port}.token`);
    assert.equal(await modeOf(tokenFile), 0o600);
    assert.equal(await modeOf(tokenDir()), 0o700);
    const readToken = await runCommand('setpriv', [...NOBODY, 'cat', tokenFile]);
    assert.notEqual(readToken.code, 0);
    assert.match(readToken.stderr, /Permission denied/);
    const listCache = await runCommand('setpriv', [...NOBODY, 'ls', join(dataDir, 'blobs')]);
    assert.notEqual(listCache.code, 0);
    assert.match(listCache.stderr, /Permission denied/);
  });

  test('`layover dashboard` (a contract: its last line is the URL) gives a one-time login link; a wrong LAYOVER_TOKEN gets nothing', async () => {
    const result = await runCommand(process.execPath, [CLI, 'dashboard', '--admin', serve.adminUrl]);
    assert.equal(result.code, 0, result.stderr);
    const url = result.stdout.trim().split('\n').at(-1)!;
    assert.match(url, new RegExp(`^${serve.adminUrl}/login\\?code=[A-Za-z0-9_-]{43}$`));
    const first = await fetch(url, { redirect: 'manual' });
    assert.equal(first.status, 303);
    assert.match(first.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Strict/);
    assert.equal((await fetch(url, { redirect: 'manual' })).status, 401, 'the code works once');

    const wrong = await runCommand(process.execPath, [CLI, 'dashboard', '--admin', serve.adminUrl], { env: { ...process.env, LAYOVER_TOKEN: 'not-the-token' } });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr.trim(), /^layover: http:\/\/127\.0\.0\.1:\d+ did not give a login link: not logged in/);
    const noToken = await runCommand(process.execPath, [CLI, 'dashboard', '--admin', serve.adminUrl], { env: { ...process.env, LAYOVER_RUNTIME_DIR: join(work, 'elsewhere') } });
    assert.notEqual(noToken.code, 0);
    assert.match(noToken.stderr.trim(), /^layover: no admin token for http:\/\/127\.0\.0\.1:\d+: only the user who started that Layover can drive it \(or set LAYOVER_TOKEN to its token\)$/);
  });
});
