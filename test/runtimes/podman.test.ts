/**
 * Podman for real: Debian's podman (as root, vfs storage, a root and runroot
 * of the test's own) pulls a Docker Hub-named and a DTR-named image through
 * Layover with nothing but the drop-in `layover runtimes podman` writes. The
 * machine's own Podman configuration is neither used nor touched: the main
 * registries.conf, containers.conf and storage.conf are empty files of the
 * test, and the drop-in goes where Podman looks for one under $HOME.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RequestRecord } from '../../src-main/api/types.js';
import { startLayover, type LayoverUnderTest } from '../support/layover.js';
import { makeTempDir, removeTempDir, runCommand, type RunResult } from '../support/process.js';
import { explain, layover, registryTrafficStaysHere, registryWithImages, UNRESOLVABLE_REGISTRY, type SeededRegistry } from './support.js';

const PODMAN = '/usr/bin/podman';

interface PulledImage {
  digest: string;
  /** The config and layer digests of the manifest the registry holds. */
  blobs: string[];
}

describe('Podman pulls through Layover using the drop-in layover runtimes podman writes', () => {
  let work: string;
  let hub: SeededRegistry;
  let dtr: SeededRegistry;
  let mirror: LayoverUnderTest;
  let podmanEnv: NodeJS.ProcessEnv;

  before(async () => {
    work = await makeTempDir('runtimes-podman-real');
    hub = await registryWithImages('hub-standin', [{ repository: 'library/hello', tag: '1' }]);
    dtr = await registryWithImages('dtr-standin', [{ repository: 'eng/app', tag: '7' }]);
    mirror = await startLayover({ upstream: hub.registry.url, registries: [`${UNRESOLVABLE_REGISTRY}=${dtr.registry.url}`] });
    podmanEnv = await isolatedPodmanEnvironment(work);
  });
  after(async () => {
    if (work) await runCommand(PODMAN, [...storageFlags(work), 'system', 'reset', '--force'], { env: podmanEnv, timeoutMs: 60_000 });
    await mirror?.stop();
    await dtr?.registry.destroy();
    await hub?.registry.destroy();
    if (work) await removeTempDir(work);
  });

  function podman(args: string[]): Promise<RunResult> {
    return runCommand(PODMAN, [...storageFlags(work), ...args], { env: podmanEnv, timeoutMs: 180_000 });
  }

  /** The requests Layover answered for one repository (its activity, as the dashboard shows it). */
  async function requestsFor(registry: string, repository: string): Promise<RequestRecord[]> {
    const { requests } = await mirror.instance.api.getActivity();
    return requests.filter((request) => request.registry === registry && request.repository === repository);
  }

  test('layover runtimes podman writes the drop-in into the directory Podman reads', async () => {
    const dropInDir = join(podmanEnv.HOME!, '.config', 'containers', 'registries.conf.d');
    const written = await layover(['runtimes', 'podman', '--mirror', mirror.host, '--registry', 'docker.io', '--registry', UNRESOLVABLE_REGISTRY, '--out', `${dropInDir}/`]);
    assert.equal(written.code, 0, explain(written));
    assert.match(written.stdout, new RegExp(`^Wrote ${dropInDir}/50-layover\\.conf$`, 'm'));
  });

  test('podman pulls a Docker Hub-named image through Layover, with the exact digests', async () => {
    const expected = await imageIn(hub, 'library/hello', '1');
    const pulled = await podman(['pull', 'docker.io/library/hello:1']);
    assert.equal(pulled.code, 0, explain(pulled));
    assert.equal(await podmanDigest('docker.io/library/hello:1'), expected.digest);
    await assertArrived(await requestsFor('docker.io', 'library/hello'), '1', expected);
  });

  test('podman pulls a DTR-named image whose host does not resolve through Layover, with the exact digests', async () => {
    const reference = `${UNRESOLVABLE_REGISTRY}/eng/app:7`;
    const expected = await imageIn(dtr, 'eng/app', '7');
    const pulled = await podman(['pull', reference]);
    assert.equal(pulled.code, 0, explain(pulled));
    assert.equal(await podmanDigest(reference), expected.digest);
    await assertArrived(await requestsFor(UNRESOLVABLE_REGISTRY, 'eng/app'), '7', expected);
  });

  async function podmanDigest(reference: string): Promise<string> {
    const inspected = await podman(['image', 'inspect', '--format', '{{.Digest}}', reference]);
    assert.equal(inspected.code, 0, explain(inspected));
    return inspected.stdout.trim();
  }
});

/** Podman's files, all in the test's dir: nothing of the machine's own configuration is read or written. */
async function isolatedPodmanEnvironment(work: string): Promise<NodeJS.ProcessEnv> {
  const home = join(work, 'home');
  await mkdir(join(home, '.config', 'containers', 'registries.conf.d'), { recursive: true });
  await mkdir(join(work, 'tmp'));
  for (const file of ['registries.conf', 'containers.conf']) await writeFile(join(work, file), '');
  // Podman insists on a storage.conf naming driver and runroot; it says the same as the flags.
  const [root, runroot] = [join(work, 'root'), join(work, 'run')];
  await writeFile(join(work, 'storage.conf'), `[storage]\ndriver = "vfs"\ngraphroot = "${root}"\nrunroot = "${runroot}"\n`);
  return {
    PATH: process.env.PATH,
    HOME: home,
    TMPDIR: join(work, 'tmp'),
    CONTAINERS_REGISTRIES_CONF: join(work, 'registries.conf'),
    CONTAINERS_CONF: join(work, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: join(work, 'storage.conf'),
    ...(await registryTrafficStaysHere()),
  };
}

function storageFlags(work: string): string[] {
  return [
    '--root', join(work, 'root'), '--runroot', join(work, 'run'), '--storage-driver', 'vfs',
    '--cgroup-manager', 'cgroupfs', '--events-backend', 'file',
  ];
}

/** The manifest digest and blobs of repository:tag, as the registry itself holds them. */
async function imageIn(seeded: SeededRegistry, repository: string, tag: string): Promise<PulledImage> {
  const digest = seeded.digests.get(`${repository}:${tag}`)!;
  const response = await fetch(`${seeded.registry.url}/v2/${repository}/manifests/${digest}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
  });
  assert.equal(response.status, 200);
  const manifest = await response.json() as { config: { digest: string }; layers: Array<{ digest: string }> };
  return { digest, blobs: [manifest.config.digest, ...manifest.layers.map((layer) => layer.digest)] };
}

/**
 * The pull arrived at Layover: the tag's manifest answered 200, and every blob of the image asked for by its
 * exact digest. (Podman checks each blob's digest as it stores it, so the image digest it reports proves the bytes;
 * the blob records' status is not asserted, because a client that has all Content-Length bytes may hang up before
 * Layover ends the response, which the log then counts as 499.)
 */
async function assertArrived(requests: RequestRecord[], tag: string, expected: PulledImage): Promise<void> {
  const context = JSON.stringify(requests, null, 1);
  assert.ok(requests.some((r) => r.method === 'GET' && r.kind === 'manifest' && r.reference === tag && r.status === 200), context);
  const blobs = new Set(requests.filter((r) => r.method === 'GET' && r.kind === 'blob').map((r) => r.reference));
  assert.deepEqual([...blobs].sort(), [...expected.blobs].sort(), context);
}
