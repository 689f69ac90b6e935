/**
 * Docker Engine pointed at Layover by `layover docker configure`, for real:
 * a dockerd of the test's own (own --config-file and pid file), reloaded by
 * SIGHUP, checked through the Docker API; `docker pull` then goes through the
 * real `layover serve`; `layover pull` fetches a DTR image whose host does not
 * resolve; `layover docker revert` undoes it all, byte for byte.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDockerd, type TestDockerd } from '../support/dockerd.js';
import { makeTempDir, removeTempDir } from '../support/process.js';
import {
  explain, layover, registryTrafficStaysHere, registryWithImages, serveLayover, UNRESOLVABLE_REGISTRY, type SeededRegistry, type ServedLayover,
} from './support.js';

/** Another mirror the person had configured: it must survive configure and revert (nothing listens on port 9). */
const OTHER_MIRROR = 'http://127.0.0.1:9';

describe('layover docker configure / revert with a real dockerd', () => {
  let work: string;
  let hub: SeededRegistry;
  let dtr: SeededRegistry;
  let mirror: ServedLayover;
  let dockerd: TestDockerd;
  let original: Buffer;
  let env: NodeJS.ProcessEnv;
  let configFlags: string[];

  before(async () => {
    work = await makeTempDir('runtimes-docker');
    hub = await registryWithImages('hub-standin', [{ repository: 'library/hello', tag: '1' }]);
    dtr = await registryWithImages('dtr-standin', [{ repository: 'eng/app', tag: '7' }]);
    mirror = await serveLayover({ upstream: hub.registry.url, registries: [`${UNRESOLVABLE_REGISTRY}=${dtr.registry.url}`] });
    dockerd = await startDockerd({
      configFile: join(work, 'daemon.json'),
      daemonConfig: { 'log-level': 'info', 'registry-mirrors': [OTHER_MIRROR], 'max-concurrent-downloads': 2 },
      env: await registryTrafficStaysHere(),
    });
    original = await readFile(dockerd.configFile);
    env = { DOCKER_HOST: dockerd.host };
    configFlags = ['--daemon-json', dockerd.configFile, '--pid-file', dockerd.pidFile];
  });
  after(async () => {
    await dockerd?.stop();
    await mirror?.stop();
    await dtr?.registry.destroy();
    await hub?.registry.destroy();
    if (work) await removeTempDir(work);
  });

  test('configure puts Layover first, SIGHUPs dockerd, the Docker API lists the mirror, and its pulls arrive', async () => {
    const result = await layover(['docker', 'configure', '--mirror', mirror.url, ...configFlags], env);
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stdout, new RegExp(`Sent SIGHUP to dockerd \\(pid ${dockerd.pid}\\)`));
    assert.match(result.stdout, /Verified: Docker now lists http:\/\/127\.0\.0\.1:\d+ as a registry mirror/);
    assert.match(result.stdout, new RegExp(`^Verified: Docker's pulls reach Layover \\(a probe pull arrived at ${mirror.url}\\)$`, 'm'));
    assert.deepEqual((await dockerd.info()).RegistryConfig?.Mirrors, [`${mirror.url}/`, `${OTHER_MIRROR}/`]);
    const written = JSON.parse(await readFile(dockerd.configFile, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(written), ['log-level', 'registry-mirrors', 'max-concurrent-downloads']);
    assert.deepEqual(written, { 'log-level': 'info', 'registry-mirrors': [mirror.url, OTHER_MIRROR], 'max-concurrent-downloads': 2 });
    assert.ok((await readFile(`${dockerd.configFile}.layover-backup`)).equals(original), 'the backup holds the bytes from before');
  });

  test('a second configure changes nothing, byte for byte', async () => {
    const before = await readFile(dockerd.configFile);
    const { mtimeMs } = await stat(dockerd.configFile);
    const result = await layover(['docker', 'configure', '--mirror', mirror.host, ...configFlags], env);
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stdout, /already lists Layover's mirror first/);
    assert.ok((await readFile(dockerd.configFile)).equals(before));
    assert.equal((await stat(dockerd.configFile)).mtimeMs, mtimeMs);
  });

  test('docker status shows the engine and its mirrors', async () => {
    const result = await layover(['docker', 'status'], env);
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stdout, new RegExp(`^Docker Engine 20\\.10\\.\\S+ at ${dockerd.host}$`, 'm'));
    assert.match(result.stdout, new RegExp(`^Registry mirrors: ${mirror.url}/, ${OTHER_MIRROR}/$`, 'm'));
    assert.match(result.stdout, new RegExp(`^daemon.json: ${dockerd.configFile}$`, 'm'), 'read from dockerd --config-file');
    assert.match(result.stdout, /^Verified: Docker's pulls reach Layover \(a probe pull arrived at /m);
  });

  test('docker pull of a Docker Hub image goes through Layover', async () => {
    const mark = await hub.registry.mark();
    const pulled = await dockerd.docker(['pull', 'hello:1'], { timeoutMs: 120_000 });
    assert.equal(pulled.code, 0, `${pulled.stderr}\n${dockerd.tail()}`);
    // There is no other way to the stand-in: docker.io itself is out of reach here.
    assert.ok(await hub.registry.count({ method: 'GET', pathIncludes: '/v2/library/hello/manifests/1', since: mark }) >= 1);
    const digest = await dockerd.dockerChecked(['image', 'inspect', '--format', '{{json .RepoDigests}}', 'hello:1']);
    assert.match(digest.stdout, new RegExp(hub.digests.get('library/hello:1')!));
  });

  test('layover pull fetches a DTR image whose host does not resolve, and names it as the DTR image', async () => {
    const reference = `${UNRESOLVABLE_REGISTRY}/eng/app:7`;
    const result = await layover(['pull', reference, '--mirror', mirror.host], env);
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stdout, /Pull complete/, 'plain progress lines when not on a terminal');
    assert.match(result.stdout, new RegExp(`^Pulled ${reference.replaceAll('.', '\\.')} through ${mirror.host} \\(sha256:[a-f0-9]{64}\\)$`, 'm'));
    const names = await dockerd.dockerChecked(['image', 'inspect', '--format', '{{json .RepoTags}}', reference]);
    assert.deepEqual(JSON.parse(names.stdout), [reference], 'the mirror-side name is gone');
    assert.equal((await dockerd.docker(['image', 'inspect', `${mirror.host}/${UNRESOLVABLE_REGISTRY}/eng/app:7`])).code, 1);
    // What `docker run` does before starting anything: find the image by this name, locally, with no pull.
    const created = await dockerd.dockerChecked(['create', '--pull', 'never', '--network', 'none', reference]);
    await dockerd.dockerChecked(['rm', created.stdout.trim()]);
  });

  test('layover pull of an image the registry does not have fails with one line', async () => {
    const result = await layover(['pull', `${UNRESOLVABLE_REGISTRY}/eng/missing:1`, '--mirror', mirror.host], env);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^layover: pulling 127\.0\.0\.1:\d+\/dtr\.layover-test\.invalid\/eng\/missing:1 failed: .+\n$/);
  });

  test('a reload that does not show through the Docker API is an error', async () => {
    // Layover edits a file dockerd does not read: the SIGHUP reloads dockerd's own file, so the mirror never appears.
    const elsewhere = join(work, 'not-the-daemon.json');
    const result = await layover(['docker', 'configure', '--mirror', 'http://127.0.0.1:5999', '--daemon-json', elsewhere, '--pid-file', dockerd.pidFile], env);
    assert.equal(result.code, 1, explain(result));
    assert.equal(
      result.stderr,
      `layover: dockerd did not take the change (Docker lists mirrors [${mirror.url}/, ${OTHER_MIRROR}/]): `
        + `dockerd reads ${dockerd.configFile}, not ${elsewhere} (pass --daemon-json ${dockerd.configFile}, or leave it out)\n`,
    );
  });

  test('revert removes only Layover, reloads, verifies, and restores the original bytes', async () => {
    // Nothing but DOCKER_HOST: dockerd is found in the process list, its daemon.json from its --config-file,
    // and (with no instance in the default data dir) Layover's entry from the record configure left.
    const result = await layover(['docker', 'revert'], env);
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stdout, /Verified: Docker no longer lists Layover's mirror/);
    assert.deepEqual((await dockerd.info()).RegistryConfig?.Mirrors, [`${OTHER_MIRROR}/`]);
    assert.ok((await readFile(dockerd.configFile)).equals(original), 'daemon.json is back to its original bytes');
  });

  test('a daemon.json that is not valid JSON is refused with its line and column, untouched', async () => {
    const broken = join(work, 'broken.json');
    const bytes = Buffer.from('{\n  "log-level": "info"\n  "debug": true\n}\n');
    await writeFile(broken, bytes);
    const result = await layover(['docker', 'configure', '--mirror', mirror.url, '--daemon-json', broken, '--no-reload'], env);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `layover: ${broken} is not valid JSON (line 3, column 3: comma expected); it was left unchanged\n`);
    assert.ok((await readFile(broken)).equals(bytes));
  });
});

describe('layover docker revert when daemon.json had no registry-mirrors before configure', () => {
  // dockerd reloads only the keys present in its file: a key that is simply gone leaves the mirror in force.
  // Nothing listens there: these tests are about the file and the reload, so configure is told not to check pulls.
  const layoverMirror = 'http://127.0.0.1:5998';
  let work: string;
  let dockerd: TestDockerd;
  let env: NodeJS.ProcessEnv;
  let configFlags: string[];

  before(async () => {
    work = await makeTempDir('runtimes-docker-no-mirrors');
    dockerd = await startDockerd({ configFile: join(work, 'daemon.json'), daemonConfig: { 'log-level': 'info' }, env: await registryTrafficStaysHere() });
    env = { DOCKER_HOST: dockerd.host };
    configFlags = ['--daemon-json', dockerd.configFile, '--pid-file', dockerd.pidFile];
  });
  after(async () => {
    await dockerd?.stop();
    if (work) await removeTempDir(work);
  });

  test('configure: the Docker API lists the mirror', async () => {
    const result = await layover(['docker', 'configure', '--mirror', layoverMirror, '--no-verify', ...configFlags], env);
    assert.equal(result.code, 0, explain(result));
    assert.deepEqual((await dockerd.info()).RegistryConfig?.Mirrors, [`${layoverMirror}/`]);
  });

  test('revert takes effect live: the Docker API no longer lists the mirror, and nothing is reported wrong', async () => {
    const result = await layover(['docker', 'revert', ...configFlags], env);
    assert.equal(result.code, 0, explain(result));
    assert.equal(result.stderr, '');
    assert.match(result.stdout, /Verified: Docker no longer lists Layover's mirror/);
    assert.deepEqual((await dockerd.info()).RegistryConfig?.Mirrors ?? [], []);
    // The key stays, emptied, so that any later reload of this file keeps the mirror off too.
    assert.deepEqual(await dockerd.readConfig(), { 'log-level': 'info', 'registry-mirrors': [] });
  });

  test('a later reload of the file keeps the mirror off', async () => {
    await dockerd.reload();
    assert.deepEqual((await dockerd.info()).RegistryConfig?.Mirrors ?? [], []);
  });

  test('revert repairs an engine left with the mirror by a revert that dropped the key', async () => {
    const configured = await layover(['docker', 'configure', '--mirror', layoverMirror, '--no-verify', ...configFlags], env);
    assert.equal(configured.code, 0, explain(configured));
    await dockerd.writeConfig({ 'log-level': 'info' }); // what a key-dropping revert left behind
    await dockerd.reload();
    assert.deepEqual((await dockerd.info()).RegistryConfig?.Mirrors, [`${layoverMirror}/`], 'dockerd kept the mirror');
    const result = await layover(['docker', 'revert', ...configFlags], env);
    assert.equal(result.code, 0, explain(result));
    assert.deepEqual((await dockerd.info()).RegistryConfig?.Mirrors ?? [], []);
    assert.deepEqual(await dockerd.readConfig(), { 'log-level': 'info', 'registry-mirrors': [] });
  });
});

describe('layover docker configure against a dockerd started with a --registry-mirror flag', () => {
  let dockerd: TestDockerd;

  before(async () => {
    dockerd = await startDockerd({ daemonConfig: { 'log-level': 'info' }, extraArgs: ['--registry-mirror', OTHER_MIRROR], env: await registryTrafficStaysHere() });
  });
  after(async () => {
    await dockerd?.stop();
  });

  test('the failed reload is blamed on the flag, which is its real cause', async () => {
    const flags = ['--daemon-json', dockerd.configFile, '--pid-file', dockerd.pidFile];
    const result = await layover(['docker', 'configure', '--mirror', 'http://127.0.0.1:5997', ...flags], { DOCKER_HOST: dockerd.host });
    assert.equal(result.code, 1, explain(result));
    assert.equal(
      result.stderr,
      `layover: dockerd did not take the change (Docker lists mirrors [${OTHER_MIRROR}/]): dockerd was started with `
        + `--registry-mirror ${OTHER_MIRROR}, which conflicts with "registry-mirrors" in ${dockerd.configFile}, `
        + 'so it refused the reload: keep the mirrors in one of the two places\n',
    );
    assert.match(dockerd.tail(), /specified both as a flag and in the configuration file: registry-mirrors/, 'dockerd says the same');
  });
});
