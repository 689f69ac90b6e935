/**
 * A whole office for the mesh tests and the bench: the LAN of namespaces
 * (office-lan.ts), the WAN (Debian's docker-registry with htpasswd auth in a
 * namespace of its own, behind the project's link shaper), a fake peer that
 * flips a byte, and one real `layover serve --mesh` per laptop. stop() removes
 * every process and namespace, and checks that none is left.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { SampleImageSpec, SampleLayoutResult } from '../../../src-main/demo/sample-images.js';
import { writeSampleLayout } from '../../../src-main/demo/sample-images.js';
import { OfficeKey, writeOfficeKeyFile } from '../../../src-main/app/mesh-wiring.js';
import { findAdminToken } from '../../../src-main/app/admin-credentials.js';
import { defaultSettings } from '../../../src-main/app/settings.js';
import type { MeshStatus, Status } from '../../../src-main/api/types.js';
import { makeTempDir, removeTempDir, runChecked, startProcess, type ManagedProcess } from '../../support/process.js';
import { parseAccessLogLine, REGISTRY_BINARY, startRegistry, type AccessLogEntry, type TestRegistry } from '../../support/registry.js';
import { pushSampleLayout, skopeoPull } from '../../support/skopeo.js';
import { sha256 } from '../../support/http.js';
import { createOfficeLan, inHost, requireRootAndIp, type LanHost, type OfficeLan } from './office-lan.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CLI = join(ROOT, 'bin', 'layover.js');
export const TOOL = join(import.meta.dirname, 'mesh-tool.ts');
export const WAN_PORT = 5000;
export const MESH_PORT = 5052;
export const CREDS = { username: 'office', password: 'office-secret' };

process.env.LAYOVER_RUNTIME_DIR ??= join('/tmp', `layover-test-tokens-${process.pid}`);

export interface Laptop {
  name: string;
  host: LanHost;
  process: ManagedProcess;
  adminPort: number;
  dataDir: string;
}

export interface OfficeOptions {
  images: SampleImageSpec[];
  /** Laptops with the office's credentials; `strangers` have a wrong password upstream. */
  laptops: string[];
  strangers?: string[];
  /** Serving caps (bytes/s) per laptop. */
  servingCaps?: Record<string, number>;
  /** The fake peer claims these tags' blobs and sends them with a byte flipped. */
  flippedTags?: string[];
  wanLink: string;
  root?: string;
}

export interface Office {
  work: string;
  lan: OfficeLan;
  layout: SampleLayoutResult;
  keyFile: string;
  laptops: Map<string, Laptop>;
  wanLog: AccessLogEntry[];
  blobsOf(tag: string): Array<{ digest: string; size: number }>;
  imageBlobBytes(tag: string): number;
  status(name: string): Promise<Status>;
  mesh(name: string): Promise<MeshStatus>;
  /** Bytes the shaper delivered from the registry to the office since it started. */
  wanBytesDown(): Promise<number>;
  /** skopeo inside the laptop's namespace; checks every blob's bytes; returns the milliseconds it took. */
  pull(name: string, tag: string): Promise<number>;
  /** The registry's blob GETs per blob of the tag, logged after `since` (an index into wanLog). */
  blobGets(tag: string, since: number): AccessLogEntry[][];
  /** Waits until the registry has logged every request it answered so far (lines come after the answers). */
  settleWanLog(): Promise<void>;
  stop(): Promise<void>;
}

export async function startOffice(options: OfficeOptions): Promise<Office> {
  requireRootAndIp();
  const work = await makeTempDir('mesh-office', options.root);
  const processes: ManagedProcess[] = [];
  const laptops = new Map<string, Laptop>();
  const wanLog: AccessLogEntry[] = [];
  let lan: OfficeLan | undefined;
  let seed: TestRegistry | undefined;
  const stop = async () => {
    for (const child of [...laptops.values()].map((laptop) => laptop.process).concat(processes).reverse()) await child.stop({ graceMs: 3_000 }).catch(() => undefined);
    await lan?.destroy();
    const left = lan ? await lan.namespaces() : [];
    await seed?.destroy();
    // MESH_KEEP_LOGS=DIR keeps every process's log for a look after the run.
    if (process.env.MESH_KEEP_LOGS) await cp(work, process.env.MESH_KEEP_LOGS, { recursive: true, filter: (path) => !path.includes('/layout') && !path.includes('/data-') || path.endsWith('.log') });
    await removeTempDir(work);
    assert.deepEqual(left, [], 'every namespace, bridge and veth is removed');
  };
  try {
    const layout = await writeSampleLayout(join(work, 'layout'), options.images);
    // The registry is filled on loopback, then served from the same storage inside the WAN namespace.
    seed = await startRegistry({ name: 'mesh-wan', auth: CREDS });
    await pushSampleLayout(layout, { registryHost: seed.host, repository: 'office/app', creds: CREDS });
    await seed.stop();
    const names = [...options.laptops, ...(options.strangers ?? [])];
    lan = await createOfficeLan(['wan', ...names, 'fake', 'out']);
    const wan = lan.host('wan');
    processes.push(await startProcess({
      name: 'wan-registry', ...inHost(wan, REGISTRY_BINARY, ['serve', seed.configFile]), logFile: join(work, 'wan-registry.log'),
      ready: { kind: 'log', pattern: 'listening on' },
      onLine: (line, stream) => {
        const entry = stream === 'stdout' ? parseAccessLogLine(line, wanLog.length) : undefined;
        if (entry) wanLog.push(entry);
      },
    }));
    const shaper = await startProcess({
      name: 'wan-shaper', ...inHost(wan, process.execPath, ['--import', 'tsx', TOOL, 'shaper', wan.address, String(WAN_PORT), String(seed.port), options.wanLink]),
      logFile: join(work, 'wan-shaper.log'), cwd: ROOT, ready: { kind: 'log', pattern: /^ready$/ },
    });
    processes.push(shaper);
    const keyFile = join(work, 'office.key');
    await writeOfficeKeyFile(keyFile, OfficeKey.generate());
    const blobsOf = (tag: string) => {
      const manifest = layout.tags.find((t) => t.tag === tag)!.manifests[0]!;
      return [manifest.config, ...manifest.layers];
    };
    const fake = lan.host('fake');
    const flipped = (options.flippedTags ?? []).flatMap((tag) => blobsOf(tag).map((blob) => blob.digest));
    processes.push(await startProcess({
      name: 'fake-peer', ...inHost(fake, process.execPath, ['--import', 'tsx', TOOL, 'fake-peer', keyFile, fake.address, String(MESH_PORT), layout.dir!, ...flipped]),
      logFile: join(work, 'fake-peer.log'), cwd: ROOT, ready: { kind: 'log', pattern: /^ready$/ },
    }));
    for (const [index, name] of names.entries()) {
      const host = lan.host(name);
      const dataDir = join(work, `data-${name}`);
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      const creds = options.strangers?.includes(name) ? { ...CREDS, password: 'not-the-password' } : CREDS;
      const adminPort = 5061 + index;
      const cap = options.servingCaps?.[name];
      const settings = {
        ...defaultSettings(),
        listen: '127.0.0.1:5050',
        admin: `127.0.0.1:${adminPort}`,
        tagFreshnessSeconds: 0,
        registries: [{ name: 'docker.io', endpoints: [{ url: `http://${wan.address}:${WAN_PORT}`, ...creds }] }],
        ...(cap ? { mesh: { enabled: false, servingCapBytesPerSecond: cap } } : {}),
      };
      await writeFile(join(dataDir, 'settings.json'), JSON.stringify(settings, null, 2), { mode: 0o600 });
      const child = await startProcess({
        name: `layover-${name}`,
        ...inHost(host, process.execPath, [CLI, 'serve', '--data', dataDir, '--mesh', keyFile, '--peer', `${fake.address}:${MESH_PORT}`]),
        logFile: join(work, `layover-${name}.log`),
        ready: { kind: 'log', pattern: 'office mesh ready' },
      });
      laptops.set(name, { name, host, process: child, adminPort, dataDir });
    }
    const status = async (name: string): Promise<Status> => {
      const laptop = laptops.get(name)!;
      const url = `http://127.0.0.1:${laptop.adminPort}`;
      const token = await findAdminToken(url);
      const call = inHost(laptop.host, '/usr/bin/curl', ['-sf', '-X', 'POST', '-H', `authorization: Bearer ${token}`, '-H', 'content-type: application/json', '-d', 'null', `${url}/api/v1/call/getStatus`]);
      return JSON.parse((await runChecked(call.command, call.args)).stdout) as Status;
    };
    const office: Office = {
      work, lan, layout, keyFile, laptops, wanLog, blobsOf,
      imageBlobBytes: (tag) => blobsOf(tag).reduce((sum, blob) => sum + blob.size, 0),
      status,
      mesh: async (name) => (await status(name)).mesh!,
      wanBytesDown: async () => {
        const line = shaper.waitForLine(/^stats /, { fromNow: true });
        shaper.signal('SIGUSR2');
        return (JSON.parse((await line).slice('stats '.length)) as { bytesDown: number }).bytesDown;
      },
      pull: async (name, tag) => {
        const laptop = laptops.get(name)!;
        const started = performance.now();
        const pulled = await skopeoPull({ reference: `127.0.0.1:5050/office/app:${tag}`, netns: laptop.host.ns, timeoutMs: 180_000 });
        const ms = performance.now() - started;
        try {
          for (const blob of blobsOf(tag)) assert.equal(sha256(await readFile(join(pulled.dir, blob.digest.split(':')[1]!))), blob.digest, `${name} got exact bytes of ${blob.digest}`);
        } finally {
          await removeTempDir(pulled.dir);
        }
        return ms;
      },
      blobGets: (tag, since) => blobsOf(tag).map((blob) => wanLog.slice(since).filter((entry) => entry.method === 'GET' && entry.path.endsWith(`/blobs/${blob.digest}`))),
      settleWanLog: async () => {
        // The registry writes a line after each answer: wait until no line has come for a while.
        let count = -1;
        while (count !== wanLog.length) {
          count = wanLog.length;
          await new Promise((resolve) => setTimeout(resolve, 400));
        }
      },
      stop,
    };
    return office;
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/**
 * Runs simultaneous pulls of a tag and asserts the office paid the WAN once: every blob fetched once with
 * its full size, the shaper's bytes the image's blob bytes plus the laptops' own manifests (a few KiB each:
 * manifests never come from peers), and the two laptops that did not fetch a blob got it from a peer.
 */
export async function assertPulledOnceOverWan(office: Office, tag: string, names: string[], pullAll: () => Promise<unknown>): Promise<void> {
  const fromPeersOf = async () => (await Promise.all(names.map(async (name) => (await office.mesh(name)).bytesReceivedFromPeers))).reduce((a, b) => a + b, 0);
  await office.settleWanLog();
  const since = office.wanLog.length;
  const downBefore = await office.wanBytesDown();
  const fromPeersBefore = await fromPeersOf();
  await pullAll();
  await office.settleWanLog();
  for (const [index, gets] of office.blobGets(tag, since).entries()) {
    assert.equal(gets.length, 1, `blob ${index} crossed the WAN ${gets.length} times`);
    assert.equal(gets[0]!.bytes, office.blobsOf(tag)[index]!.size);
  }
  const down = (await office.wanBytesDown()) - downBefore;
  const image = office.imageBlobBytes(tag);
  assert.ok(down >= image && down < image + 64 * 1024, `WAN bytes ${down} = 1.0× the image's ${image} blob bytes plus three manifests`);
  assert.equal((await fromPeersOf()) - fromPeersBefore, 2 * image, 'the two laptops that did not fetch a blob received it from a peer');
}

/** Polls a state the product exposes (never a fixed sleep) until it holds. */
export async function waitUntil(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await condition().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
