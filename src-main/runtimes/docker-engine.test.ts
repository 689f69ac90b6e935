import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultDaemonJsonPath } from './daemon-json-location.js';
import { dockerConnectionCandidates, findDockerEngine, type DockerEnvironment } from './docker-engine.js';

const linux: DockerEnvironment = { env: {}, platform: 'linux', home: '/home/ana', uid: 1000 };

test('daemon.json is looked for where each kind of install keeps it', () => {
  const engine = { isDesktop: false, isRootless: false };
  assert.equal(defaultDaemonJsonPath(linux, engine), '/etc/docker/daemon.json');
  assert.equal(defaultDaemonJsonPath(linux, { ...engine, isRootless: true }), '/home/ana/.config/docker/daemon.json');
  assert.equal(
    defaultDaemonJsonPath({ ...linux, env: { XDG_CONFIG_HOME: '/xdg' } }, { ...engine, isRootless: true }),
    '/xdg/docker/daemon.json',
  );
  assert.equal(defaultDaemonJsonPath({ ...linux, platform: 'darwin', home: '/Users/ana' }, { ...engine, isDesktop: true }), '/Users/ana/.docker/daemon.json');
  assert.equal(defaultDaemonJsonPath({ env: {}, platform: 'win32', home: 'C:\\Users\\ana' }, engine), 'C:\\ProgramData\\docker\\config\\daemon.json');
  assert.equal(defaultDaemonJsonPath({ env: {}, platform: 'win32', home: 'C:\\Users\\ana' }, { ...engine, isDesktop: true }), 'C:\\Users\\ana\\.docker\\daemon.json');
});

test('DOCKER_HOST, when set, is the only place Docker is looked for', () => {
  assert.deepEqual(dockerConnectionCandidates({ ...linux, env: { DOCKER_HOST: 'unix:///run/x.sock' } }), [
    { address: 'unix:///run/x.sock', options: {}, local: true },
  ]);
  assert.equal(dockerConnectionCandidates({ ...linux, env: { DOCKER_HOST: 'tcp://127.0.0.1:2375' } })[0]!.local, true);
  assert.equal(dockerConnectionCandidates({ ...linux, env: { DOCKER_HOST: 'tcp://build-box:2376' } })[0]!.local, false);
});

test('without DOCKER_HOST: the system socket, the rootless one, then Docker Desktop', () => {
  assert.deepEqual(dockerConnectionCandidates(linux).map((candidate) => candidate.address), [
    'unix:///var/run/docker.sock',
    'unix:///run/user/1000/docker.sock',
    'unix:///home/ana/.docker/run/docker.sock',
    'unix:///home/ana/.docker/desktop/docker.sock',
  ]);
  assert.deepEqual(dockerConnectionCandidates({ env: {}, platform: 'win32', home: 'C:\\Users\\ana' }).map((c) => c.address), [
    'npipe:////./pipe/docker_engine',
    'npipe:////./pipe/dockerDesktopLinuxEngine',
  ]);
});

test('no engine answering is one line naming where Layover looked', async () => {
  await assert.rejects(
    findDockerEngine([{ address: 'unix:///nonexistent/docker.sock', options: { socketPath: '/nonexistent/docker.sock' }, local: true }]),
    /^RuntimeError: Docker is not reachable: no Docker socket found \(looked for unix:\/\/\/nonexistent\/docker\.sock\)$/,
  );
});
