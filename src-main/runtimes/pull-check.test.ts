import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DockerPullCheck } from '../api/types.js';
import { addLayoverMirror } from './daemon-json.js';
import { engineFacts, type DockerInfo } from './docker-engine.js';
import { mirrorForEngine, mirrorFromHere, mirrorUrl, parseMirrorAddress } from './mirror-address.js';
import { likelyCause, PullCheckCache } from './pull-check.js';

/** GET /info as Docker Desktop 4.x answers it (macOS; Windows and Linux Desktop say the same in these fields). */
const DESKTOP_INFO: DockerInfo = {
  ServerVersion: '27.3.1',
  OperatingSystem: 'Docker Desktop',
  Name: 'docker-desktop',
  SecurityOptions: ['name=seccomp,profile=unconfined', 'name=cgroupns'],
  DriverStatus: [['driver-type', 'io.containerd.snapshotter.v1']],
  RegistryConfig: { Mirrors: [] },
};

/** GET /info of Debian's dockerd. */
const ENGINE_INFO: DockerInfo = { ServerVersion: '20.10.24+dfsg1', OperatingSystem: 'Debian GNU/Linux 12 (bookworm)', Name: 'build-box', RegistryConfig: { Mirrors: [] } };

const layover = parseMirrorAddress('http://127.0.0.1:5050');

test('Docker Desktop gets the address its VM reaches this computer by, with the mirror\'s port', () => {
  const desktop = engineFacts(DESKTOP_INFO);
  assert.equal(desktop.isDesktop, true);
  assert.equal(mirrorUrl(mirrorForEngine(layover, desktop)), 'http://host.docker.internal:5050');
  assert.equal(mirrorUrl(mirrorForEngine(parseMirrorAddress('localhost:6000'), desktop)), 'http://host.docker.internal:6000');
  assert.equal(mirrorUrl(mirrorForEngine(parseMirrorAddress('http://0.0.0.0:5050'), desktop)), 'http://host.docker.internal:5050', 'listening on every address');
  assert.equal(mirrorUrl(mirrorForEngine(parseMirrorAddress('https://layover.office.example:5050'), desktop)), 'https://layover.office.example:5050',
    'an office Layover is reached by its own name from the VM too');
});

test('an engine on this computer keeps the loopback address', () => {
  const engine = engineFacts(ENGINE_INFO);
  assert.equal(engine.isDesktop, false);
  assert.equal(mirrorUrl(mirrorForEngine(layover, engine)), 'http://127.0.0.1:5050');
});

test('this computer checks a host.docker.internal mirror on its own loopback', () => {
  assert.equal(mirrorFromHere(parseMirrorAddress('http://host.docker.internal:5050')).host, '127.0.0.1:5050');
  assert.equal(mirrorFromHere(layover).host, '127.0.0.1:5050');
});

test('configure on Docker Desktop replaces the loopback entry the VM never reached', () => {
  const desktopMirror = mirrorForEngine(layover, engineFacts(DESKTOP_INFO));
  const before = '{\n  "registry-mirrors": ["http://127.0.0.1:5050", "https://mirror.gcr.io"]\n}\n';
  assert.equal(
    addLayoverMirror(before, 'daemon.json', desktopMirror, [layover]),
    '{\n  "registry-mirrors": ["http://host.docker.internal:5050", "https://mirror.gcr.io"]\n}\n',
  );
});

test('the likely cause names the Desktop VM first, then a mirror that does not answer, then mirrors ahead, then a firewall', () => {
  const desktop = { isDesktop: true, mirrors: ['http://127.0.0.1:5050/'] };
  assert.equal(
    likelyCause({ engine: desktop, mirror: layover }),
    'Docker Desktop runs its engine in a VM, where 127.0.0.1 is the VM itself: use http://host.docker.internal:5050 '
      + '(layover docker configure writes it so), then restart Docker Desktop',
  );
  const engine = { isDesktop: false, mirrors: ['http://127.0.0.1:5050/'] };
  assert.equal(likelyCause({ engine, mirror: layover, silent: 'nothing answers at 127.0.0.1:5050' }), 'nothing answers at 127.0.0.1:5050');
  assert.match(likelyCause({ engine: { ...engine, mirrors: ['https://mirror.gcr.io/', 'http://127.0.0.1:5050/'] }, mirror: layover }),
    /^Docker asks https:\/\/mirror\.gcr\.io\/ first and stays with the first mirror that answers/);
  assert.match(likelyCause({ engine, mirror: layover }), /^Layover answers at 127\.0\.0\.1:5050 on this computer, but Docker's requests never came: a firewall/);
});

test('a status poll reuses a recent check of the same engine and mirrors; a recheck, a change or age probes again', async () => {
  let now = 1_000_000;
  let probes = 0;
  const cache = new PullCheckCache(60_000, () => now);
  const run = async (): Promise<DockerPullCheck> => ({ outcome: 'reaches', message: `probe ${++probes}`, checkedAt: now });
  await cache.get('engine-a', run);
  await cache.get('engine-a', run);
  assert.equal(probes, 1);
  await cache.get('engine-a', run, { fresh: true });
  await cache.get('engine-b', run);
  assert.equal(probes, 3);
  now += 60_000;
  await cache.get('engine-b', run);
  assert.equal(probes, 4);
  cache.forget();
  await cache.get('engine-b', run);
  assert.equal(probes, 5);
});
