/**
 * Do Docker's pulls really arrive at Layover? After `layover docker
 * configure`, from `layover docker status` and from the dashboard's status,
 * Layover asks a real dockerd (through its API) about a probe reference with a
 * nonce, and checks that the nonce arrived at its mirror. A mirror Docker
 * cannot reach (a closed loopback port) is reported with its likely cause,
 * never taken for working. The probe costs nothing: Layover answers it at
 * once and never asks its upstream.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { RequestRecord } from '../../src-main/api/types.js';
import { initTls, tlsFiles } from '../../src-main/app/tls/certificates.js';
import { newProbeNonce } from '../../src-main/core/telemetry/pull-probes.js';
import { parseMirrorAddress } from '../../src-main/runtimes/mirror-address.js';
import { mirrorWitness } from '../../src-main/runtimes/pull-check.js';
import { startDockerd, type TestDockerd } from '../support/dockerd.js';
import { startLayover, type LayoverUnderTest } from '../support/layover.js';
import { freePort, LOOPBACK } from '../support/ports.js';
import { makeTempDir, removeTempDir } from '../support/process.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { explain, layover, registryTrafficStaysHere } from './support.js';

const NONCE = /^[0-9a-f]{32}$/;

describe("Docker's pulls checked to arrive at Layover, with a real dockerd", () => {
  let work: string;
  let upstream: TestRegistry;
  let mirror: LayoverUnderTest;
  let dockerd: TestDockerd;
  let env: NodeJS.ProcessEnv;
  let configFlags: string[];

  before(async () => {
    work = await makeTempDir('runtimes-pull-check');
    upstream = await startRegistry({ name: 'hub-standin' });
    mirror = await startLayover({ upstream: upstream.url });
    // Were the probe ever to miss Layover, dockerd would ask Docker Hub: that goes to a closed loopback port instead.
    dockerd = await startDockerd({ configFile: join(work, 'daemon.json'), daemonConfig: { 'registry-mirrors': [] }, env: await registryTrafficStaysHere() });
    env = { DOCKER_HOST: dockerd.host };
    configFlags = ['--daemon-json', dockerd.configFile, '--pid-file', dockerd.pidFile];
  });
  after(async () => {
    await dockerd?.stop();
    await mirror?.stop();
    await upstream?.destroy();
    if (work) await removeTempDir(work);
  });

  /** The probe requests in Layover's activity, as the dashboard lists them. */
  async function probeRequests(): Promise<RequestRecord[]> {
    return (await mirror.instance.api.getActivity()).requests.filter((request) => request.kind === 'probe');
  }

  async function probeNonces(): Promise<Set<string>> {
    return new Set((await probeRequests()).map((request) => request.reference!));
  }

  /** The dashboard's view: the in-process API, finding this dockerd as the running core would (DOCKER_HOST). */
  async function withDockerHost<T>(run: () => Promise<T>): Promise<T> {
    const previous = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = dockerd.host;
    try {
      return await run();
    } finally {
      if (previous === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = previous;
    }
  }

  test('configure: a probe asked of Docker through its API arrives at Layover, which never asks its upstream', async () => {
    const mark = await upstream.mark();
    const result = await layover(['docker', 'configure', '--mirror', mirror.url, ...configFlags], env);
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stdout, new RegExp(`^Verified: Docker's pulls reach Layover \\(a probe pull arrived at ${mirror.url}\\)$`, 'm'));

    const probes = await probeRequests();
    assert.equal(new Set(probes.map((probe) => probe.reference)).size, 1, 'one probe, one nonce');
    assert.match(probes[0]!.reference!, NONCE);
    assert.deepEqual(probes.map((probe) => [probe.method, probe.status, probe.repository]).sort(), [
      ['GET', 404, 'library/layover-probe'], ['HEAD', 404, 'library/layover-probe'],
    ], 'Docker asks HEAD, then GET, and both are answered 404 at once');
    assert.equal(await upstream.count({ since: mark, pathIncludes: 'layover-probe' }), 0, 'the upstream never hears of the probe');
  });

  test('docker status checks again, against the mirror configure recorded', async () => {
    const before = (await probeNonces()).size;
    const result = await layover(['docker', 'status'], env);
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stdout, new RegExp(`^Layover's mirror: ${mirror.url}, as layover docker configure wrote it; `, 'm'));
    assert.match(result.stdout, /^Verified: Docker's pulls reach Layover \(a probe pull arrived at /m);
    assert.equal((await probeNonces()).size, before + 1);
  });

  test("the dashboard's status is checked through the core's own record, and a poll reuses the last check", async () => {
    const checked = await withDockerHost(() => mirror.instance.api.getDockerStatus({ recheck: true }));
    assert.equal(checked.usesLayover, true);
    assert.equal(checked.layoverMirror, mirror.url);
    assert.equal(checked.pullCheck?.outcome, 'reaches', JSON.stringify(checked));
    const probesAfterCheck = (await probeNonces()).size;

    const polled = await withDockerHost(() => mirror.instance.api.getDockerStatus());
    assert.deepEqual(polled.pullCheck, checked.pullCheck);
    assert.equal((await probeNonces()).size, probesAfterCheck, 'no new probe for a poll');

    await withDockerHost(() => mirror.instance.api.getDockerStatus({ recheck: true }));
    assert.equal((await probeNonces()).size, probesAfterCheck + 1, 'a probe when asked to check again');
  });

  test('a mirror Docker cannot reach is reported with its likely cause, and fails configure', async () => {
    const reverted = await layover(['docker', 'revert', ...configFlags], env);
    assert.equal(reverted.code, 0, explain(reverted));
    const closed = `http://${LOOPBACK}:${await freePort()}`;
    const probesBefore = (await probeNonces()).size;

    const result = await layover(['docker', 'configure', '--mirror', closed, ...configFlags], env);
    assert.equal(result.code, 1, explain(result));
    assert.match(result.stdout, new RegExp(`^Verified: Docker now lists ${closed} as a registry mirror$`, 'm'), 'the file and the reload worked');
    assert.match(result.stderr, new RegExp(
      `^layover: Docker is configured with ${closed} but its pulls do not reach Layover: nothing answers at ${closed.slice('http://'.length)} `
        + 'from this computer \\(ECONNREFUSED\\): Layover is not running there, or listens on another port '
        // What Docker did instead: it went to Docker Hub (here a closed proxy), as it silently would for every pull.
        + '\\(Docker answered: .*registry-1\\.docker\\.io.*\\)\n$',
    ));
    assert.deepEqual((await dockerd.info()).RegistryConfig?.Mirrors, [`${closed}/`]);
    assert.equal((await probeNonces()).size, probesBefore, 'no probe reached the running Layover');
  });

  test('docker status reports the same, and fails', async () => {
    const result = await layover(['docker', 'status'], env);
    assert.equal(result.code, 1, explain(result));
    assert.match(result.stderr, /^layover: Docker is configured with http:\/\/127\.0\.0\.1:\d+ but its pulls do not reach Layover: nothing answers at /);
  });
});

describe("the mirror's side of the probe", () => {
  let upstream: TestRegistry;
  let mirror: LayoverUnderTest;

  before(async () => {
    upstream = await startRegistry({ name: 'hub-standin' });
    mirror = await startLayover({ upstream: upstream.url });
  });
  after(async () => {
    await mirror?.stop();
    await upstream?.destroy();
  });

  test('a probe is answered 404 MANIFEST_UNKNOWN at once, recorded, and told to whoever holds its nonce', async () => {
    const nonce = 'ab'.repeat(16);
    const mark = await upstream.mark();
    const probe = await fetch(`${mirror.url}/v2/library/layover-probe/manifests/${nonce}?ns=docker.io`);
    assert.equal(probe.status, 404);
    assert.equal(((await probe.json()) as { errors: Array<{ code: string }> }).errors[0]!.code, 'MANIFEST_UNKNOWN');
    assert.equal(await upstream.count({ since: mark }), 0);

    const record = await fetch(`${mirror.url}/layover/probes/${nonce}`);
    assert.equal(record.status, 200);
    assert.deepEqual({ ...((await record.json()) as Record<string, unknown>), at: 0 }, { arrived: true, nonce, at: 0, client: LOOPBACK });
    const unknown = await fetch(`${mirror.url}/layover/probes/${'cd'.repeat(16)}`);
    assert.equal(unknown.status, 404);
    assert.deepEqual(await unknown.json(), { arrived: false, nonce: 'cd'.repeat(16) });
  });

  test('a tag that is not a nonce is an ordinary request, asked of the upstream', async () => {
    const mark = await upstream.mark();
    const ordinary = await fetch(`${mirror.url}/v2/library/layover-probe/manifests/latest`);
    assert.equal(ordinary.status, 404);
    await ordinary.body?.cancel();
    assert.ok(await upstream.count({ since: mark, pathIncludes: '/v2/library/layover-probe/manifests/latest' }) >= 1);
  });
});

describe('asking a mirror whether a probe arrived, from the command line', () => {
  let work: string;
  let upstream: TestRegistry;
  let tlsMirror: LayoverUnderTest;

  before(async () => {
    work = await makeTempDir('runtimes-probe-witness');
    upstream = await startRegistry({ name: 'not-layover' });
    await initTls(work, [LOOPBACK]);
    const files = tlsFiles(work);
    tlsMirror = await startLayover({ upstream: upstream.url, settings: { tls: { certFile: files.serverCert, keyFile: files.serverKey } } });
  });
  after(async () => {
    await tlsMirror?.stop();
    await upstream?.destroy();
    if (work) await removeTempDir(work);
  });

  test('another program on the port is named as such, not taken for a Layover that saw nothing', async () => {
    const answer = await mirrorWitness(parseMirrorAddress(upstream.url))(newProbeNonce());
    assert.deepEqual(answer, { silent: `${upstream.host} answers (HTTP 404), but not as Layover: another program has that port` });
  });

  test('a Layover whose certificate this computer does not trust is said so, with what to do', async () => {
    const answer = await mirrorWitness(parseMirrorAddress(`https://${tlsMirror.host}`))(newProbeNonce());
    assert.ok('silent' in answer, JSON.stringify(answer));
    assert.match(answer.silent, new RegExp(`^this computer does not trust the certificate of ${tlsMirror.host} \\(\\w+\\), so it could not ask Layover: set NODE_EXTRA_CA_CERTS`));
  });
});
