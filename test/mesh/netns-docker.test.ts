/**
 * The office mesh with real Docker Engines: the office of netns.test.ts
 * (test/mesh/netns/office.ts: a namespace per laptop, one real `layover serve
 * --mesh` in each, mDNS across the bridge, the WAN = the link shaper in front
 * of docker-registry), and in each laptop's namespace its own dockerd whose
 * registry-mirrors is that laptop's Layover (http://127.0.0.1:5050: loopback,
 * so Docker needs no insecure-registries entry). The three daemons pull the
 * same image at the same moment; the WAN carries it once. Needs root and ip
 * (fails without them, never skips). Every daemon, its dir and its mounts,
 * every namespace and process go at the end, and that is checked.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { assertPulledOnceOverWan, startOffice, waitUntil, type Office } from './netns/office.js';
import { mountsUnder, startDockerdIn, type NamespaceDockerd } from './netns/dockerd-ns.js';

const MiB = 1024 * 1024;
const LAPTOPS = ['l1', 'l2', 'l3'];
const MIRROR = 'http://127.0.0.1:5050';

describe('office mesh with a real dockerd in each laptop namespace', () => {
  let office: Office | undefined;
  const daemons: NamespaceDockerd[] = [];

  before(async () => {
    office = await startOffice({
      images: [{ tag: 'docker', layers: [{ size: 4 * MiB, seed: 'dock-a' }, { size: 2 * MiB, seed: 'dock-b', files: 3 }, { size: 1 * MiB, seed: 'dock-c' }] }],
      laptops: LAPTOPS,
      wanLink: '40mbit,20ms',
    });
    const started = await Promise.allSettled(LAPTOPS.map((name) => startDockerdIn(office!.lan.host(name), { 'registry-mirrors': [MIRROR] })));
    for (const result of started) if (result.status === 'fulfilled') daemons.push(result.value);
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    // Every laptop sees the other two live before the simultaneous pull, so all three take part in the election.
    for (const name of LAPTOPS) {
      await waitUntil(async () => (await office!.mesh(name)).peers.filter((peer) => peer.state === 'live' && LAPTOPS.some((other) => other !== name && peer.address.startsWith(`${office!.lan.host(other).address}:`))).length === 2, `${name} sees the two other laptops`);
    }
  });

  after(async () => {
    const dirs = daemons.map((daemon) => daemon.dir);
    const pids = daemons.map((daemon) => daemon.process.pid);
    await Promise.all(daemons.map((daemon) => daemon.stop()));
    await office?.stop();
    for (const pid of pids) assert.equal(isAlive(pid), false, `dockerd ${pid} is gone`);
    for (const dir of dirs) {
      assert.deepEqual(mountsUnder(dir), [], `nothing is mounted under ${dir}`);
      assert.equal(existsSync(dir), false, `${dir} is removed`);
    }
  });

  test('three dockerds pull the same 3-layer image through their own Layovers at the same moment: the WAN carries it once', async () => {
    const office_ = office!;
    for (const daemon of daemons) {
      const { stdout } = await daemon.docker(['info', '--format', '{{json .RegistryConfig.Mirrors}}']);
      assert.deepEqual(JSON.parse(stdout), [`${MIRROR}/`], `${daemon.host.name}'s dockerd uses its own Layover as mirror`);
    }
    await assertPulledOnceOverWan(office_, 'docker', LAPTOPS, () => Promise.all(daemons.map((daemon) => daemon.docker(['pull', 'office/app:docker'], { timeoutMs: 180_000 }))));

    const [config] = office_.blobsOf('docker');
    const manifest = office_.layout.tags.find((tag) => tag.tag === 'docker')!;
    for (const daemon of daemons) {
      const { stdout } = await daemon.docker(['image', 'inspect', '--format', '{{json .Id}} {{json .RepoDigests}}', 'office/app:docker']);
      const [id, repoDigests] = stdout.trim().split(' ').map((part) => JSON.parse(part) as unknown);
      assert.equal(id, config!.digest, `${daemon.host.name}'s image is the one whose config is ${config!.digest}`);
      assert.deepEqual(repoDigests, [`office/app@${manifest.digest}`], `${daemon.host.name} pulled the manifest ${manifest.digest}`);
    }
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
