/**
 * Office-server mode: TLS beyond loopback, client auth that respects the
 * upstream (caching never widens access), the office's own htpasswd list, and
 * per-client limits. Real parts: docker-registry with htpasswd, skopeo over
 * TLS, and a real dockerd doing `docker login` to the mirror.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { X509Certificate } from 'node:crypto';
import { initTls, tlsFiles } from '../../src-main/app/tls/certificates.js';
import { writeSampleLayout, type SampleLayoutResult } from '../../src-main/demo/sample-images.js';
import { startDockerd, type TestDockerd } from '../support/dockerd.js';
import { get, getJson } from '../support/http.js';
import { startFaultUpstream } from '../support/fault-upstream.js';
import { startLayover, type LayoverUnderTest } from '../support/layover.js';
import { freePort } from '../support/ports.js';
import { makeTempDir, removeTempDir, runCommand, sleep } from '../support/process.js';
import { htpasswdLine, startRegistry, type TestRegistry } from '../support/registry.js';
import { pushSampleLayout, skopeoCopy } from '../support/skopeo.js';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'layover.js');
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

test('beyond loopback the mirror refuses to start without TLS, and says how to fix it', async () => {
  const work = await makeTempDir('office-notls');
  try {
    const result = await runCommand(process.execPath, [CLI, 'serve', '--data', work, '--listen', `0.0.0.0:${await freePort()}`], { timeoutMs: 20_000 });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr.trim(), /^layover: the mirror would listen on 0\.0\.0\.0:\d+, beyond this machine, without TLS: give --tls-cert FILE --tls-key FILE, or run `layover tls init` to create them$/);
  } finally {
    await removeTempDir(work);
  }
});

describe('TLS', () => {
  let work: string;
  let upstream: TestRegistry;
  let layover: LayoverUnderTest;
  let layout: SampleLayoutResult;

  before(async () => {
    work = await makeTempDir('office-tls');
    layout = await writeSampleLayout(join(work, 'layout'), [{ tag: 'v1', layers: [{ size: 256 * 1024, seed: 'tls' }] }]);
    upstream = await startRegistry({ name: 'tls-upstream' });
    await pushSampleLayout(layout, { registryHost: upstream.host, repository: 'library/tls' });
    await initTls(work, ['127.0.0.1', 'localhost']);
    const files = tlsFiles(work);
    layover = await startLayover({ upstream: upstream.url, settings: { tls: { certFile: files.serverCert, keyFile: files.serverKey } } });
  });
  after(async () => {
    await layover?.stop();
    await upstream?.destroy();
    if (work) await removeTempDir(work);
  });

  test('`tls init` certificates serve HTTPS that skopeo trusts through the CA alone', async () => {
    const status = await layover.instance.api.getStatus();
    assert.match(status.mirrorUrl, /^https:\/\//);
    const certDir = join(work, 'client-certs');
    await import('node:fs/promises').then((fs) => fs.mkdir(certDir, { recursive: true }));
    await writeFile(join(certDir, 'ca.crt'), await readFile(tlsFiles(work).caCert));
    const destination = join(work, 'pulled');
    const pulled = await skopeoCopy({ source: `docker://${layover.host}/library/tls:v1`, destination: `dir:${destination}`, srcTlsVerify: true, extraArgs: ['--src-cert-dir', certDir] });
    assert.equal(pulled.digest, layout.tags[0]!.digest);
    const untrusted = await skopeoCopy({ source: `docker://${layover.host}/library/tls:v1`, destination: `dir:${join(work, 'refused')}`, srcTlsVerify: true }).then(() => 'pulled', (error: Error) => error.message);
    assert.match(untrusted, /certificate/i, 'without the CA the client refuses the mirror');
  });

  test('a renewed certificate is picked up without a restart', async () => {
    const agent = new Agent({ connect: { ca: await readFile(tlsFiles(work).caCert, 'utf8') } });
    const response = await request(`https://${layover.host}/v2/`, { dispatcher: agent });
    await response.body.dump();
    await agent.close();
    assert.equal(response.statusCode, 200);
    const before = new X509Certificate(await readFile(tlsFiles(work).serverCert)).serialNumber;
    await initTls(work, ['127.0.0.1', 'localhost', 'renewed.example']);
    const after = new X509Certificate(await readFile(tlsFiles(work).serverCert)).serialNumber;
    assert.notEqual(before, after);
    const served = async () => new Promise<string>((resolve, reject) => {
      import('node:tls').then(async (tls) => {
        const socket = tls.connect({ host: '127.0.0.1', port: Number(layover.host.split(':')[1]), ca: await readFile(tlsFiles(work).caCert, 'utf8'), servername: 'localhost' }, () => {
          resolve(socket.getPeerX509Certificate()!.serialNumber);
          socket.end();
        });
        socket.on('error', reject);
      }, reject);
    });
    let serial = await served();
    for (let waited = 0; serial !== after && waited < 5_000; waited += 100) {
      await sleep(100);
      serial = await served();
    }
    assert.equal(serial, after, 'new connections get the renewed certificate');
  });
});

describe('client auth that respects the upstream', () => {
  let work: string;
  let secured: TestRegistry;
  let open: TestRegistry;
  let layover: LayoverUnderTest;
  let dockerd: TestDockerd;
  const alice = { username: 'alice', password: 'wonderland' };

  before(async () => {
    work = await makeTempDir('office-auth');
    const layout = await writeSampleLayout(join(work, 'layout'), [{ tag: 'v7', layers: [{ size: 300 * 1024, seed: 'private-app' }] }]);
    secured = await startRegistry({ name: 'dtr', auth: alice });
    await pushSampleLayout(layout, { registryHost: secured.host, repository: 'eng/app', creds: alice });
    open = await startRegistry({ name: 'public' });
    await pushSampleLayout(layout, { registryHost: open.host, repository: 'library/public' });
    layover = await startLayover({ upstream: open.url, settings: { clientAuth: { mode: 'upstream' } } });
    await layover.instance.api.updateSettings({
      registries: [...layover.instance.core.settings.registries, { name: 'dtr.example.com', endpoints: [{ url: secured.url, ...alice }] }],
    });
    dockerd = await startDockerd();
  });
  after(async () => {
    await dockerd?.stop();
    await layover?.stop();
    await secured?.destroy();
    await open?.destroy();
    if (work) await removeTempDir(work);
  });

  const manifestUrl = () => `${layover.url}/v2/dtr.example.com/eng/app/manifests/v7`;

  test('anonymous clients are challenged for a private repository; the upstream\'s own users get in', async () => {
    const anonymous = await get(manifestUrl());
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers['www-authenticate'], 'Basic realm="Layover"');
    const allowed = await get(manifestUrl(), basic('alice', 'wonderland'));
    assert.equal(allowed.status, 200);
  });

  test('content already in the cache is still refused to a client the upstream refuses', async () => {
    const cached = await get(manifestUrl(), basic('alice', 'wonderland'));
    assert.equal(cached.headers['x-layover-cache'] === 'miss' || cached.headers['x-layover-cache'] === 'hit' || cached.headers['x-layover-cache'] === 'revalidated', true);
    const intruder = await getJson<{ errors: Array<{ code: string }> }>(manifestUrl(), basic('alice', 'guess'));
    assert.equal(intruder.status, 401);
    assert.equal(intruder.json.errors[0]?.code, 'UNAUTHORIZED');
    const strangers = await getJson<{ repositories: string[] }>(`${layover.url}/v2/_catalog`, basic('mallory', 'x'));
    assert.equal(strangers.status, 401, 'no registry behind the mirror knows mallory');
    const catalog = await getJson<{ repositories: string[] }>(`${layover.url}/v2/_catalog`, basic('alice', 'wonderland'));
    assert.ok(catalog.json.repositories.includes('dtr.example.com/eng/app'), 'alice sees what she may read');
  });

  test('a public upstream stays open to anonymous clients', async () => {
    const response = await get(`${layover.url}/v2/library/public/manifests/v7`);
    assert.equal(response.status, 200);
  });

  test('docker login to the mirror, then docker pull of the private image through it', async () => {
    const refused = await dockerd.docker(['login', '-u', 'alice', '--password-stdin', layover.host], { input: 'nope' });
    assert.notEqual(refused.code, 0, 'a wrong password fails docker login');
    await dockerd.dockerChecked(['login', '-u', 'alice', '--password-stdin', layover.host], { input: 'wonderland' });
    await dockerd.dockerChecked(['pull', `${layover.host}/dtr.example.com/eng/app:v7`], { timeoutMs: 120_000 });
  });
});

describe('htpasswd client auth and per-client limits', () => {
  test('the office list: right password in, wrong password out, file changes picked up', async () => {
    const work = await makeTempDir('office-htpasswd');
    const file = join(work, 'htpasswd');
    await writeFile(file, await htpasswdLine({ username: 'carol', password: 'office-pass' }));
    const upstream = await startRegistry({ name: 'htp-upstream' });
    const layover = await startLayover({ upstream: upstream.url, settings: { clientAuth: { mode: 'htpasswd', file } } });
    try {
      assert.equal((await get(`${layover.url}/v2/`)).status, 401);
      assert.equal((await get(`${layover.url}/v2/`, basic('carol', 'office-pass'))).status, 200);
      assert.equal((await get(`${layover.url}/v2/`, basic('carol', 'wrong'))).status, 401);
      await writeFile(file, await htpasswdLine({ username: 'dave', password: 'new-hire' }));
      assert.equal((await get(`${layover.url}/v2/`, basic('dave', 'new-hire'))).status, 200);
      assert.equal((await get(`${layover.url}/v2/`, basic('carol', 'office-pass'))).status, 401, 'removed users are out');
    } finally {
      await layover.stop();
      await upstream.destroy();
      await removeTempDir(work);
    }
  });

  test('a client with too many requests in flight gets 429 while they last', async () => {
    const upstream = await startFaultUpstream();
    // Two blobs, so each stuck request asks the upstream on its own (one blob would be one shared transfer).
    const digests = ['slow blob 1', 'slow blob 2'].map((text) => upstream.addBlob(Buffer.from(text)));
    for (const digest of digests) upstream.setFault(digest, { kind: 'hang' });
    const layover = await startLayover({ upstream: upstream.url, settings: { limits: { perClientConcurrency: 2, perClientRequestsPerSecond: 1000, idleTimeoutSeconds: 60 } } });
    const stuck = digests.map((digest, n) => get(`${layover.url}/v2/library/a${n}/blobs/${digest}`).catch(() => undefined));
    try {
      // Both are in flight once the upstream has seen both (it records a request as it arrives), not after a guessed pause.
      for (let polls = 0; digests.some((digest) => upstream.count({ method: 'GET', pathIncludes: digest }) === 0); polls++) {
        assert.ok(polls < 3_000, 'both requests reached the upstream');
        await sleep(10);
      }
      const third = await get(`${layover.url}/v2/`);
      assert.equal(third.status, 429);
      assert.match(JSON.parse(third.body.toString()).errors[0].message, /more than 2 requests in flight/);
    } finally {
      await layover.stop();
      await upstream.stop();
      await Promise.all(stuck);
    }
  });

  test('the admin listener requires its token, off loopback and on it', async () => {
    for (const host of ['0.0.0.0', '127.0.0.1']) {
      const layover = await startLayover({ upstream: 'http://127.0.0.1:1', settings: { admin: `${host}:${await freePort()}` } });
      try {
        const token = layover.instance.adminToken;
        assert.ok(token, 'a token was generated');
        const port = new URL(layover.instance.adminUrl!).port;
        const call = (headers: Record<string, string>) => fetch(`http://127.0.0.1:${port}/api/v1/call/getStatus`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: 'null' });
        assert.equal((await call({})).status, 401);
        assert.equal((await call({ authorization: 'Bearer wrong-token' })).status, 401);
        assert.equal((await call({ authorization: `Bearer ${token}` })).status, 200);
        assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 401, '/metrics too');
      } finally {
        await layover.stop();
      }
    }
  });

  test("the machine's own clients are not rate limited: a burst from loopback far over the rate all passes", async () => {
    // The rate limit itself (burst, refill, Retry-After) is counted in src-main/mirror/client-limits.test.ts.
    const layover = await startLayover({ upstream: 'http://127.0.0.1:1', settings: { limits: { perClientConcurrency: 64, perClientRequestsPerSecond: 2, idleTimeoutSeconds: 60 } } });
    try {
      const statuses = [];
      for (let i = 0; i < 40; i++) statuses.push((await get(`${layover.url}/v2/`)).status);
      assert.deepEqual([...new Set(statuses)], [200], 'forty requests, five times the burst, and no 429');
    } finally {
      await layover.stop();
    }
  });
});
