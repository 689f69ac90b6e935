/**
 * The office mesh on one machine's loopback, in process (fast, and the test
 * reads each Layover's mesh state): three Layovers with static peers in front
 * of one real docker-registry behind the project's link shaper (the WAN).
 * The network-namespace test (netns.test.ts) runs the same behaviour as real
 * `layover serve` processes with mDNS; this one pins the protocol's rules.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'node:http';
import { writeSampleLayout, type SampleLayoutResult } from '../../src-main/demo/sample-images.js';
import { LinkShaper, MBIT } from '../../src-main/demo/link-shaper.js';
import { OfficeKey, writeOfficeKeyFile } from '../../src-main/app/mesh-wiring.js';
import { signRequest } from '../../src-main/mesh/signing.js';
import { makeTempDir, removeTempDir } from '../support/process.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { pushSampleLayout, skopeoPull } from '../support/skopeo.js';
import { sha256 } from '../support/http.js';
import { startLayover, type LayoverUnderTest } from '../support/layover.js';
import { freePorts, LOOPBACK } from '../support/ports.js';
import { livePeers, waitFor } from './mesh-state.js';

const MiB = 1024 * 1024;

describe('office mesh on loopback (static peers)', () => {
  let work: string;
  let upstream: TestRegistry;
  let wan: LinkShaper;
  let layout: SampleLayoutResult;
  let laptops: LayoverUnderTest[] = [];
  let meshPorts: number[];
  let key: OfficeKey;

  before(async () => {
    work = await makeTempDir('mesh-loopback');
    layout = await writeSampleLayout(join(work, 'layout'), [
      { tag: 'simultaneous', layers: [{ size: 3 * MiB, seed: 'm-a' }, { size: 2 * MiB, seed: 'm-b' }, { size: 1 * MiB, seed: 'm-c' }] },
      { tag: 'staggered', layers: [{ size: 3 * MiB, seed: 's-a' }, { size: 2 * MiB, seed: 's-b' }, { size: 1 * MiB, seed: 's-c' }] },
    ]);
    upstream = await startRegistry({ name: 'mesh-upstream' });
    await pushSampleLayout(layout, { registryHost: upstream.host, repository: 'office/app' });
    wan = await LinkShaper.start({ target: { host: LOOPBACK, port: upstream.port }, link: { bandwidth: 40 * MBIT, latencyMs: 20 } });
    key = OfficeKey.generate();
    const keyFile = join(work, 'office.key');
    await writeOfficeKeyFile(keyFile, key);
    meshPorts = await freePorts(3);
    const address = (port: number) => `${LOOPBACK}:${port}`;
    for (const [index, port] of meshPorts.entries()) {
      laptops.push(await startLayover({
        upstream: wan.url,
        settings: { tagFreshnessSeconds: 0, mesh: { enabled: true, keyFile, listen: address(port), discovery: false, peers: meshPorts.filter((_, other) => other !== index).map(address) } },
      }));
    }
    await waitFor(() => laptops.every((laptop) => livePeers(laptop) === 2), 'every laptop sees the two others');
  });

  after(async () => {
    for (const laptop of laptops) await laptop.stop().catch(() => undefined);
    await wan?.stop();
    await upstream?.destroy();
    if (work) await removeTempDir(work);
  });

  const blobsOf = (tag: string) => {
    const manifest = layout.tags.find((t) => t.tag === tag)!.manifests[0]!;
    return [manifest.config, ...manifest.layers];
  };
  const mesh = (laptop: LayoverUnderTest) => laptop.instance.core.meshStatus()!;

  async function pullAndCheck(laptop: LayoverUnderTest, tag: string): Promise<void> {
    const pulled = await skopeoPull({ reference: `${laptop.host}/office/app:${tag}` });
    try {
      for (const blob of blobsOf(tag)) assert.equal(sha256(await readFile(join(pulled.dir, blob.digest.split(':')[1]!))), blob.digest);
    } finally {
      await removeTempDir(pulled.dir);
    }
  }

  test('three laptops pulling the same image at the same moment fetch each blob once over the WAN', async () => {
    const mark = await upstream.mark();
    await Promise.all(laptops.map((laptop) => pullAndCheck(laptop, 'simultaneous')));
    for (const blob of blobsOf('simultaneous')) {
      const gets = await upstream.requests({ method: 'GET', pathIncludes: `/blobs/${blob.digest}`, since: mark });
      assert.equal(gets.length, 1, `${blob.digest} fetched ${gets.length} times from the WAN`);
      assert.equal(gets[0]!.bytes, blob.size);
    }
    const imageBlobBytes = blobsOf('simultaneous').reduce((sum, blob) => sum + blob.size, 0);
    const fromPeers = laptops.reduce((sum, laptop) => sum + mesh(laptop).bytesReceivedFromPeers, 0);
    assert.equal(fromPeers, 2 * imageBlobBytes, 'the two laptops that did not fetch got every blob byte from a peer');
  });

  test('staggered pulls: the second and third laptops get every blob from the LAN', async () => {
    const mark = await upstream.mark();
    const before = laptops.map((laptop) => mesh(laptop).bytesReceivedFromPeers);
    const wanBefore = laptops.map((laptop) => laptop.instance.core.telemetry.counters.bytesFetchedUpstream);
    for (const laptop of laptops) await pullAndCheck(laptop, 'staggered');
    const imageBlobBytes = blobsOf('staggered').reduce((sum, blob) => sum + blob.size, 0);
    assert.equal(await upstream.count({ method: 'GET', pathIncludes: '/blobs/', since: mark }), blobsOf('staggered').length);
    assert.equal(mesh(laptops[0]!).bytesReceivedFromPeers - before[0]!, 0);
    assert.equal(mesh(laptops[1]!).bytesReceivedFromPeers - before[1]!, imageBlobBytes);
    assert.equal(mesh(laptops[2]!).bytesReceivedFromPeers - before[2]!, imageBlobBytes);
    // What the dashboard and /metrics call upstream bytes is WAN traffic only: a peer's bytes are not in it.
    const wanBytes = laptops.map((laptop, index) => laptop.instance.core.telemetry.counters.bytesFetchedUpstream - wanBefore[index]!);
    assert.deepEqual(wanBytes, [imageBlobBytes, 0, 0]);
  });

  test('a laptop is off the mesh until its user joins in the settings; then it takes blobs from the LAN', async () => {
    const newcomer = await startLayover({ upstream: wan.url, settings: { tagFreshnessSeconds: 0 } });
    laptops.push(newcomer);
    assert.equal(newcomer.instance.core.meshStatus(), undefined, 'no mesh, no listener, no discovery before joining');
    const [port] = await freePorts(1);
    await newcomer.instance.api.updateSettings({ mesh: { enabled: true, keyFile: join(work, 'office.key'), listen: `${LOOPBACK}:${port}`, discovery: false, peers: [`${LOOPBACK}:${meshPorts[0]}`] } });
    await waitFor(() => livePeers(newcomer) === 1, 'the newcomer sees the peer it was given');
    const mark = await upstream.mark();
    await pullAndCheck(newcomer, 'staggered');
    assert.equal(await upstream.count({ method: 'GET', pathIncludes: '/blobs/', since: mark }), 0, 'nothing over the WAN');
    assert.equal(mesh(newcomer).bytesReceivedFromPeers, blobsOf('staggered').reduce((sum, blob) => sum + blob.size, 0));
    await newcomer.instance.api.updateSettings({ mesh: { enabled: false } });
    await waitFor(() => newcomer.instance.core.meshStatus() === undefined, 'leaving stops the mesh');
  });

  test('a machine without the office key is refused, and a member is answered', async () => {
    const digest = blobsOf('staggered')[0]!.digest;
    const path = `/mesh/blobs/${digest}`;
    const outsider = OfficeKey.generate();
    const refused = await rawGet(meshPorts[0]!, path, signRequest(outsider, 'GET', path, 'aaaaaaaaaaaaaaaa'));
    assert.equal(refused.status, 401);
    assert.equal(refused.body.length < 200, true, 'no blob bytes to a non-member');
    const unsigned = await rawGet(meshPorts[0]!, path, {});
    assert.equal(unsigned.status, 401);
    const member = await rawGet(meshPorts[0]!, path, signRequest(key, 'GET', path, 'bbbbbbbbbbbbbbbb'));
    assert.equal(member.status, 200);
    assert.equal(sha256(member.body), digest);
    const replayHeaders = signRequest(key, 'GET', path, 'bbbbbbbbbbbbbbbb');
    assert.equal((await rawGet(meshPorts[0]!, path, replayHeaders)).status, 200);
    assert.equal((await rawGet(meshPorts[0]!, path, replayHeaders)).status, 401, 'a captured request cannot be replayed');
    const manifestPath = '/v2/office/app/manifests/staggered';
    assert.equal((await rawGet(meshPorts[0]!, manifestPath, signRequest(key, 'GET', manifestPath, 'bbbbbbbbbbbbbbbb'))).status, 404, 'no manifest, tag or name is served to peers');
    assert.ok(mesh(laptops[0]!).refused >= 2);
  });
});


function rawGet(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: LOOPBACK, port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
