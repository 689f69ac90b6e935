/**
 * The office mesh as it runs in an office: each laptop a network namespace on
 * one bridge (test/mesh/netns/office-lan.ts), one real `layover serve --mesh`
 * per laptop (the compiled build: run `npm run build` first), DNS-SD over mDNS
 * crossing the bridge for real, the WAN = the project's link shaper in front
 * of Debian's docker-registry (with htpasswd auth) in a namespace of its own,
 * and skopeo pulling inside each laptop's namespace. Needs root and ip: without
 * them the suite fails, it never skips.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSampleLayout, type SampleLayoutResult } from '../../src-main/demo/sample-images.js';
import { OfficeKey, writeOfficeKeyFile } from '../../src-main/app/mesh-wiring.js';
import { findAdminToken } from '../../src-main/app/admin-credentials.js';
import { defaultSettings } from '../../src-main/app/settings.js';
import type { MeshStatus, Status } from '../../src-main/api/types.js';
import { makeTempDir, removeTempDir, runChecked, runCommand, startProcess, type ManagedProcess } from '../support/process.js';
import { parseAccessLogLine, REGISTRY_BINARY, startRegistry, type AccessLogEntry, type TestRegistry } from '../support/registry.js';
import { pushSampleLayout, skopeoPull } from '../support/skopeo.js';
import { sha256 } from '../support/http.js';
import { createOfficeLan, inHost, requireRootAndIp, type LanHost, type OfficeLan } from './netns/office-lan.js';

const MiB = 1024 * 1024;
const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'layover.js');
const TOOL = join(import.meta.dirname, 'netns', 'mesh-tool.ts');
const WAN_PORT = 5000;
const MESH_PORT = 5052;
const CREDS = { username: 'office', password: 'office-secret' };
/** The slow link between the office and the registry. */
const WAN_LINK = '40mbit,20ms';
/** Laptop l3 serves peers at most this fast: slow enough to be killed mid-transfer. */
const L3_SERVING_CAP = 1_000_000;

process.env.LAYOVER_RUNTIME_DIR ??= join('/tmp', `layover-test-tokens-${process.pid}`);

interface Laptop {
  name: string;
  host: LanHost;
  process: ManagedProcess;
  adminPort: number;
  dataDir: string;
}

describe('office mesh across network namespaces (real layover serve, mDNS, skopeo)', () => {
  let work: string;
  let lan: OfficeLan | undefined;
  let seed: TestRegistry | undefined;
  let layout: SampleLayoutResult;
  const processes: ManagedProcess[] = [];
  const laptops = new Map<string, Laptop>();
  const wanLog: AccessLogEntry[] = [];
  let shaper: ManagedProcess;
  let keyFile: string;

  before(async () => {
    requireRootAndIp();
    work = await makeTempDir('mesh-netns');
    layout = await writeSampleLayout(join(work, 'layout'), [
      { tag: 'simultaneous', layers: [{ size: 4 * MiB, seed: 'sim-a' }, { size: 2 * MiB, seed: 'sim-b' }, { size: 1 * MiB, seed: 'sim-c' }] },
      { tag: 'staggered', layers: [{ size: 4 * MiB, seed: 'stag-a' }, { size: 2 * MiB, seed: 'stag-b' }, { size: 1 * MiB, seed: 'stag-c' }] },
      { tag: 'flip', layers: [{ size: 2 * MiB, seed: 'flip-a' }, { size: 1 * MiB, seed: 'flip-b' }, { size: 512 * 1024, seed: 'flip-c' }] },
      { tag: 'kill', layers: [{ size: 6 * MiB, seed: 'kill-a' }, { size: 256 * 1024, seed: 'kill-b' }, { size: 128 * 1024, seed: 'kill-c' }] },
    ]);
    // The registry is filled on loopback, then served from the same storage inside the WAN namespace.
    seed = await startRegistry({ name: 'mesh-wan', auth: CREDS });
    await pushSampleLayout(layout, { registryHost: seed.host, repository: 'office/app', creds: CREDS });
    await seed.stop();
    lan = await createOfficeLan(['wan', 'l1', 'l2', 'l3', 'l4', 'fake', 'out']);
    const wan = lan.host('wan');
    processes.push(await startProcess({
      name: 'wan-registry', ...inHost(wan, REGISTRY_BINARY, ['serve', seed.configFile]), logFile: join(work, 'wan-registry.log'),
      ready: { kind: 'log', pattern: 'listening on' },
      onLine: (line, stream) => {
        const entry = stream === 'stdout' ? parseAccessLogLine(line, wanLog.length) : undefined;
        if (entry) wanLog.push(entry);
      },
    }));
    shaper = await startProcess({
      name: 'wan-shaper', ...inHost(wan, process.execPath, ['--import', 'tsx', TOOL, 'shaper', wan.address, String(WAN_PORT), String(seed.port), WAN_LINK]),
      logFile: join(work, 'wan-shaper.log'), cwd: ROOT, ready: { kind: 'log', pattern: /^ready$/ },
    });
    processes.push(shaper);
    keyFile = join(work, 'office.key');
    await writeOfficeKeyFile(keyFile, OfficeKey.generate());
    const fake = lan.host('fake');
    const flipDigests = blobsOf('flip').map((blob) => blob.digest);
    processes.push(await startProcess({
      name: 'fake-peer', ...inHost(fake, process.execPath, ['--import', 'tsx', TOOL, 'fake-peer', keyFile, fake.address, String(MESH_PORT), layout.dir!, ...flipDigests]),
      logFile: join(work, 'fake-peer.log'), cwd: ROOT, ready: { kind: 'log', pattern: /^ready$/ },
    }));
    for (const [index, name] of ['l1', 'l2', 'l3', 'l4'].entries()) {
      laptops.set(name, await startLaptop(name, 5061 + index, name === 'l4' ? { ...CREDS, password: 'not-the-password' } : CREDS));
    }
  });

  after(async () => {
    for (const child of [...laptops.values()].map((laptop) => laptop.process).concat(processes).reverse()) {
      await child.stop({ graceMs: 3_000 }).catch(() => undefined);
    }
    const namespaces = lan ? await lan.namespaces() : [];
    await lan?.destroy();
    if (lan) assert.deepEqual(await lan.namespaces(), [], 'every namespace, bridge and veth is removed');
    assert.ok(namespaces.length === 0 || namespaces.length === 8, 'the LAN had its eight namespaces');
    await seed?.destroy();
    if (work) await removeTempDir(work);
  });

  async function startLaptop(name: string, adminPort: number, creds: { username: string; password: string }): Promise<Laptop> {
    const host = lan!.host(name);
    const dataDir = join(work, `data-${name}`);
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const settings = {
      ...defaultSettings(),
      listen: '127.0.0.1:5050',
      admin: `127.0.0.1:${adminPort}`,
      tagFreshnessSeconds: 0,
      registries: [{ name: 'docker.io', endpoints: [{ url: `http://${lan!.host('wan').address}:${WAN_PORT}`, ...creds }] }],
      ...(name === 'l3' ? { mesh: { enabled: false, servingCapBytesPerSecond: L3_SERVING_CAP } } : {}),
    };
    await writeFile(join(dataDir, 'settings.json'), JSON.stringify(settings, null, 2), { mode: 0o600 });
    const child = await startProcess({
      name: `layover-${name}`,
      ...inHost(host, process.execPath, [CLI, 'serve', '--data', dataDir, '--mesh', keyFile, '--peer', `${lan!.host('fake').address}:${MESH_PORT}`]),
      logFile: join(work, `layover-${name}.log`),
      ready: { kind: 'log', pattern: 'office mesh ready' },
    });
    return { name, host, process: child, adminPort, dataDir };
  }

  function blobsOf(tag: string) {
    const manifest = layout.tags.find((t) => t.tag === tag)!.manifests[0]!;
    return [manifest.config, ...manifest.layers];
  }
  const imageBlobBytes = (tag: string) => blobsOf(tag).reduce((sum, blob) => sum + blob.size, 0);

  async function status(laptop: Laptop): Promise<Status> {
    const url = `http://127.0.0.1:${laptop.adminPort}`;
    const token = await findAdminToken(url);
    const call = inHost(laptop.host, '/usr/bin/curl', ['-sf', '-X', 'POST', '-H', `authorization: Bearer ${token}`, '-H', 'content-type: application/json', '-d', 'null', `${url}/api/v1/call/getStatus`]);
    return JSON.parse((await runChecked(call.command, call.args)).stdout) as Status;
  }
  const mesh = async (name: string): Promise<MeshStatus> => (await status(laptops.get(name)!)).mesh!;

  async function wanBytesDown(): Promise<number> {
    const line = shaper.waitForLine(/^stats /, { fromNow: true });
    shaper.signal('SIGUSR2');
    return (JSON.parse((await line).slice('stats '.length)) as { bytesDown: number }).bytesDown;
  }

  async function pull(name: string, tag: string): Promise<void> {
    const laptop = laptops.get(name)!;
    const pulled = await skopeoPull({ reference: `127.0.0.1:5050/office/app:${tag}`, netns: laptop.host.ns, timeoutMs: 120_000 });
    try {
      for (const blob of blobsOf(tag)) assert.equal(sha256(await readFile(join(pulled.dir, blob.digest.split(':')[1]!))), blob.digest, `${name} got exact bytes of ${blob.digest}`);
    } finally {
      await removeTempDir(pulled.dir);
    }
  }

  const blobGets = (tag: string, since: number) => blobsOf(tag).map((blob) => wanLog.slice(since).filter((entry) => entry.method === 'GET' && entry.path.endsWith(`/blobs/${blob.digest}`)));

  test('the laptops find each other with DNS-SD over mDNS across the bridge', async () => {
    for (const name of ['l1', 'l2', 'l3']) {
      await waitUntil(async () => (await mesh(name)).peers.filter((peer) => peer.found === 'mdns' && peer.state === 'live').length >= 3, `${name} sees the three other laptops through mDNS`);
    }
    const seen = (await mesh('l1')).peers.filter((peer) => peer.found === 'mdns').map((peer) => peer.address.split(':')[0]).sort();
    assert.deepEqual(seen, ['l2', 'l3', 'l4'].map((name) => lan!.host(name).address).sort());
  });

  test('three laptops pulling the same 3-layer image at the same moment: the WAN carries it once', async () => {
    const since = wanLog.length;
    const downBefore = await wanBytesDown();
    await Promise.all(['l1', 'l2', 'l3'].map((name) => pull(name, 'simultaneous')));
    await waitUntil(async () => wanLog.length > since, 'the registry logged the pulls');
    for (const [index, gets] of blobGets('simultaneous', since).entries()) {
      assert.equal(gets.length, 1, `blob ${index} crossed the WAN ${gets.length} times`);
      assert.equal(gets[0]!.bytes, blobsOf('simultaneous')[index]!.size);
    }
    const down = (await wanBytesDown()) - downBefore;
    const image = imageBlobBytes('simultaneous');
    // Manifests never come from peers: each laptop fetches its own (a few KiB each, with the HTTP headers).
    assert.ok(down >= image && down < image + 64 * 1024, `WAN bytes ${down} = 1.0× the image's ${image} blob bytes plus three manifests`);
    const fromPeers = await Promise.all(['l1', 'l2', 'l3'].map(async (name) => (await mesh(name)).bytesReceivedFromPeers));
    assert.equal(fromPeers.reduce((a, b) => a + b, 0), 2 * image, 'the two laptops that did not fetch received every blob byte from a peer');
  });

  test('staggered pulls: the second and third laptops take every blob from the LAN', async () => {
    const since = wanLog.length;
    const before = await Promise.all(['l1', 'l2', 'l3'].map(async (name) => (await mesh(name)).bytesReceivedFromPeers));
    for (const name of ['l1', 'l2', 'l3']) await pull(name, 'staggered');
    for (const gets of blobGets('staggered', since)) assert.equal(gets.length, 1);
    const after = await Promise.all(['l1', 'l2', 'l3'].map(async (name) => (await mesh(name)).bytesReceivedFromPeers));
    assert.deepEqual(after.map((value, index) => value - before[index]!), [0, imageBlobBytes('staggered'), imageBlobBytes('staggered')], 'bytes from peers: l1 none (WAN), l2 and l3 the whole image');
  });

  test('a machine outside the office key asking a member for a blob is refused', async () => {
    const outsiderKey = join(work, 'other-office.key');
    await writeOfficeKeyFile(outsiderKey, OfficeKey.generate());
    const refusedBefore = (await mesh('l1')).refused;
    const digest = blobsOf('staggered')[1]!.digest;
    const ask = inHost(lan!.host('out'), process.execPath, ['--import', 'tsx', TOOL, 'ask', outsiderKey, `http://${lan!.host('l1').address}:${MESH_PORT}/mesh/blobs/${digest}`]);
    const { stdout } = await runChecked(ask.command, ask.args, { cwd: ROOT });
    const [, status, bytes] = /^status (\d+) bytes (\d+)/m.exec(stdout) ?? [];
    assert.equal(status, '401', stdout);
    assert.ok(Number(bytes) < 200, 'no blob bytes to a non-member');
    assert.equal((await mesh('l1')).refused, refusedBefore + 1);
    const member = inHost(lan!.host('out'), process.execPath, ['--import', 'tsx', TOOL, 'ask', keyFile, `http://${lan!.host('l1').address}:${MESH_PORT}/mesh/blobs/${digest}`]);
    assert.match((await runChecked(member.command, member.args, { cwd: ROOT })).stdout, new RegExp(`^status 200 bytes \\d+ sha256 ${digest.slice(7)}`, 'm'), 'the same question with the office key is answered');
  });

  test('a member whose user cannot read the repository upstream asks no peer for its blobs', async () => {
    const questions = async () => (await Promise.all(['l1', 'l2', 'l3'].map(async (name) => (await mesh(name)).questionsAnswered))).reduce((a, b) => a + b, 0);
    const before = await questions();
    const l4 = laptops.get('l4')!;
    await assert.rejects(skopeoPull({ reference: '127.0.0.1:5050/office/app:staggered', netns: l4.host.ns, timeoutMs: 60_000 }), 'the manifest fetch fails upstream');
    const digest = blobsOf('staggered')[1]!.digest;
    const direct = inHost(l4.host, '/usr/bin/curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:5050/v2/office/app/blobs/${digest}`]);
    const code = (await runCommand(direct.command, direct.args)).stdout;
    assert.notEqual(code, '200', 'a digest learned elsewhere is not served to a user the upstream refuses');
    assert.equal(await questions(), before, 'no member was asked about any digest');
  });

  test('a peer that sends a wrong byte is dropped for the session and the pull still gets exact bytes from the WAN', async () => {
    const since = wanLog.length;
    await pull('l1', 'flip');
    for (const gets of blobGets('flip', since)) assert.equal(gets.length, 1, 'each blob fetched once from the WAN after the peer failed');
    const fake = (await mesh('l1')).peers.find((peer) => peer.address.startsWith(`${lan!.host('fake').address}:`))!;
    assert.equal(fake.state, 'dropped');
    assert.match(fake.reason ?? '', /do not match/);
    assert.ok((await mesh('l1')).peerErrors >= 1);
  });

  test('a peer killed mid-transfer: the pull continues from the WAN with Range, no client error', async () => {
    const big = blobsOf('kill')[1]!; // the 6 MiB layer (index 0 is the config)
    assert.equal(big.size > 5 * MiB, true);
    await pull('l3', 'kill');
    // The registry logs a request after answering it: l3's own fetches must be in before the mark.
    await waitUntil(async () => blobGets('kill', 0).every((gets) => gets.length === 1), 'the registry logged l3\'s fetches');
    const since = wanLog.length;
    const l3 = laptops.get('l3')!;
    const pulling = pull('l2', 'kill');
    await waitUntil(async () => ((await mesh('l2')).peers.find((peer) => peer.address.startsWith(`${l3.host.address}:`))?.bytesReceived ?? 0) > big.size / 4 + 512 * 1024, 'l2 is receiving the big layer from l3');
    l3.process.signal('SIGKILL');
    await pulling;
    const resumed = blobGets('kill', since)[1]!;
    assert.equal(resumed.length, 1, 'the big layer was continued once from the WAN');
    assert.ok(resumed[0]!.bytes > 0 && resumed[0]!.bytes < big.size, `only the rest crossed the WAN (${resumed[0]!.bytes} of ${big.size})`);
    const l2 = await mesh('l2');
    assert.ok(l2.peerErrors >= 1);
    await waitUntil(async () => (await mesh('l2')).peers.find((peer) => peer.address.startsWith(`${l3.host.address}:`))?.state !== 'live', 'l3 is no longer live for l2');
  });
});

async function waitUntil(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await condition().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
