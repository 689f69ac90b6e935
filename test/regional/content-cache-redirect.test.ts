/**
 * An MSR 2.x/3.x content cache: Layover authenticates with the central
 * registry (a real docker-registry with htpasswd auth), whose blob GETs a
 * small front answers with a 307 to the user's content cache (a second real
 * docker-registry, behind an HTTPS front with a CA of its own). The blobs come
 * from the cache without the central registry's Authorization; the cache's
 * CA and health are its own; the Activity page's records name the cache.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSampleLayout, type SampleLayoutResult } from '../../src-main/demo/sample-images.js';
import { initTls } from '../../src-main/app/tls/certificates.js';
import type { RegistryStatus, Settings } from '../../src-main/api/types.js';
import { makeTempDir, removeTempDir } from '../support/process.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { pushSampleLayout, skopeoPull } from '../support/skopeo.js';
import { get, sha256 } from '../support/http.js';
import { startLayover, type LayoverUnderTest } from '../support/layover.js';
import { redirectBlobsTo, startFront, type Front } from './fronts.js';

const KiB = 1024;
const user = { username: 'dev', password: 'dev-secret' };
const DTR = 'dtr.example.com';

describe('blobs redirected by the central registry to an MSR content cache', () => {
  let work: string;
  let central: TestRegistry;
  let cacheRegistry: TestRegistry;
  let centralFront: Front;
  let cacheFront: Front;
  let caFile: string;
  let layout: SampleLayoutResult;
  const started: LayoverUnderTest[] = [];

  const settingsFor = (withCa: boolean): Partial<Settings> => ({
    defaultRegistry: DTR,
    tagFreshnessSeconds: 0,
    registries: [{
      name: DTR,
      endpoints: [{ url: centralFront.url, username: user.username, password: user.password }],
      ...(withCa ? { redirectHosts: [{ url: cacheFront.url, caFile }] } : {}),
    }],
  });
  const startWith = async (withCa: boolean) => {
    const layover = await startLayover({ settings: settingsFor(withCa) });
    started.push(layover);
    return layover;
  };
  const dtrStatus = async (layover: LayoverUnderTest): Promise<RegistryStatus> =>
    (await layover.instance.api.getStatus()).registries.find((registry) => registry.name === DTR)!;
  const blobsOf = (tag: string) => layout.tags.find((t) => t.tag === tag)!.blobs.filter((blob) => !blob.mediaType.includes('manifest'));

  before(async () => {
    work = await makeTempDir('regional-redirect');
    layout = await writeSampleLayout(join(work, 'layout'), ['1.0', '2.0'].map((tag) => ({ tag, layers: [{ size: 300 * KiB, seed: `redirect-${tag}` }] })));
    const tls = await initTls(join(work, 'cache-tls'), ['127.0.0.1', 'localhost']);
    caFile = tls.caCert;
    central = await startRegistry({ name: 'msr-central', auth: user });
    cacheRegistry = await startRegistry({ name: 'msr-cache-fra' });
    await pushSampleLayout(layout, { registryHost: central.host, repository: 'library/app', creds: user });
    await pushSampleLayout(layout, { registryHost: cacheRegistry.host, repository: 'library/app' });
    cacheFront = await startFront({ target: cacheRegistry.url, tls: { cert: await readFile(tls.serverCert, 'utf8'), key: await readFile(tls.serverKey, 'utf8') } });
    centralFront = await startFront({ target: central.url, intercept: redirectBlobsTo(central.url, () => cacheFront.url) });
  });
  after(async () => {
    for (const layover of started) await layover.stop();
    await centralFront?.stop();
    await cacheFront?.stop();
    await central?.destroy();
    await cacheRegistry?.destroy();
    if (work) await removeTempDir(work);
  });

  test('a pull: every blob GET at the central registry is redirected and served by the cache, which never sees the central Authorization', async () => {
    const layover = await startWith(true);
    const pulled = await skopeoPull({ reference: `${layover.host}/library/app:1.0` });
    assert.equal(pulled.digest, layout.tags.find((t) => t.tag === '1.0')!.digest);
    const blobs = blobsOf('1.0');
    assert.equal(centralFront.count({ method: 'GET', pathIncludes: '/blobs/', status: 307, authorization: true }), blobs.length, 'each blob asked at the central registry with its credentials, answered 307');
    assert.equal(cacheFront.count({ method: 'GET', pathIncludes: '/blobs/', status: 200 }), blobs.length, 'each blob served by the cache');
    assert.equal(cacheFront.count({ authorization: true }), 0, 'the central registry\'s Authorization never reaches the cache');
    assert.equal(cacheFront.records.filter((r) => r.path.includes('/blobs/') && r.query.includes('signature=')).length, blobs.length, 'the cache is asked on the URL the registry signed');
    assert.equal(await central.count({ method: 'GET', pathIncludes: '/blobs/' }), 0, 'no blob body came from the central registry');

    const status = await dtrStatus(layover);
    assert.deepEqual(status.endpoints.map((e) => e.health), ['healthy']);
    assert.deepEqual(status.redirectHosts?.map((h) => [h.url, h.health]), [[new URL(cacheFront.url).origin, 'healthy']]);

    const activity = await layover.instance.api.getActivity();
    const blobRecords = activity.requests.filter((r) => r.kind === 'blob' && r.method === 'GET' && r.cache === 'miss');
    assert.deepEqual(new Set(blobRecords.map((r) => r.reference)), new Set(blobs.map((b) => b.digest)));
    assert.deepEqual(blobRecords.map((r) => r.servedBy), blobRecords.map(() => cacheFront.host), 'the Activity page names the cache host for every blob it served');
  });

  test('the cache stops: its own health goes down, the central registry stays healthy; back once the cache is', async () => {
    const layover = await startWith(true);
    await cacheRegistry.stop();
    const blob = blobsOf('2.0').find((b) => b.mediaType.includes('layer'))!;
    const failed = await get(`${layover.url}/v2/library/app/blobs/${blob.digest}`);
    assert.equal(failed.status, 503);
    let status = await dtrStatus(layover);
    assert.deepEqual(status.endpoints.map((e) => e.health), ['healthy'], 'the central registry answered well: not its failure');
    assert.equal(status.redirectHosts?.length, 1);
    assert.equal(status.redirectHosts![0]!.health, 'degraded');
    assert.match(status.redirectHosts![0]!.lastError ?? '', /HTTP 50\d|ECONNRESET|socket|closed/);

    await cacheRegistry.start();
    const served = await get(`${layover.url}/v2/library/app/blobs/${blob.digest}`);
    assert.equal(served.status, 200);
    assert.equal(sha256(served.body), blob.digest);
    status = await dtrStatus(layover);
    assert.equal(status.redirectHosts![0]!.health, 'healthy');
  });

  test('without the cache\'s CA the redirect is refused by TLS, and that is the cache host\'s failure, not the registry\'s', async () => {
    const layover = await startWith(false);
    const before = cacheFront.records.length;
    const blob = blobsOf('2.0').find((b) => b.mediaType.includes('layer'))!;
    const failed = await get(`${layover.url}/v2/library/app/blobs/${blob.digest}`);
    assert.equal(failed.status, 503);
    assert.equal(cacheFront.records.length, before, 'no HTTP request got past the TLS handshake');
    const status = await dtrStatus(layover);
    assert.deepEqual(status.endpoints.map((e) => e.health), ['healthy']);
    assert.equal(status.redirectHosts![0]!.health, 'degraded');
    assert.match(status.redirectHosts![0]!.lastError ?? '', /certificate|self[- ]signed|issuer/i);
  });
});
