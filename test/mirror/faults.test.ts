/**
 * Upstream faults the real registry cannot show, on a real loopback server:
 * the client sees a clean error or the right bytes, never a silently wrong or
 * short body; nothing bad is stored; the request after the fault heals gets
 * exact bytes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startFaultUpstream, type FaultUpstream } from '../support/fault-upstream.js';
import { get, getJson, sha256, testBytes } from '../support/http.js';
import { startLayover, type LayoverUnderTest } from '../support/layover.js';

describe('upstream faults', () => {
  let upstream: FaultUpstream;
  let layover: LayoverUnderTest;
  const blob = testBytes(4 * 1024 * 1024, 11);
  let digest: string;

  before(async () => {
    upstream = await startFaultUpstream();
    digest = upstream.addBlob(blob);
    layover = await startLayover({ upstream: upstream.url });
  });
  after(async () => {
    await layover?.stop();
    await upstream?.stop();
  });

  const blobUrl = (d = digest, repo = 'library/app') => `${layover.url}/v2/${repo}/blobs/${d}`;

  /**
   * The client's error can arrive before the failed transfer has removed its
   * ingest file: wait until the core no longer lists a transfer of the digest
   * (it ends one only after the ingest is gone), told by its transfer events.
   */
  async function transferEnded(d: string): Promise<void> {
    const telemetry = layover.instance.core.telemetry;
    const running = () => telemetry.activeTransfers().some((transfer) => transfer.digest === d);
    if (!running()) return;
    await new Promise<void>((resolve) => {
      const onTransfer = () => {
        if (running()) return;
        telemetry.off('transfer', onTransfer);
        resolve();
      };
      telemetry.on('transfer', onTransfer);
    });
  }

  /** Resolves once the core runs an upstream transfer of the digest (its transfer event). */
  async function transferStarted(d: string): Promise<void> {
    const telemetry = layover.instance.core.telemetry;
    if (telemetry.activeTransfers().some((transfer) => transfer.digest === d)) return;
    await new Promise<void>((resolve) => {
      const onTransfer = (transfer: { digest: string }, done: boolean) => {
        if (transfer.digest !== d || done) return;
        telemetry.off('transfer', onTransfer);
        resolve();
      };
      telemetry.on('transfer', onTransfer);
    });
  }

  async function assertNothingStored(d: string): Promise<void> {
    await transferEnded(d);
    assert.equal(await layover.instance.core.store.sizeOf(d), undefined, 'nothing stored');
    assert.deepEqual(await readdir(join(layover.dataDir, 'ingest')), [], 'no ingest leftovers');
  }

  test('a connection cut mid-blob aborts the client response and stores nothing; the next pull heals', async () => {
    upstream.setFault(digest, { kind: 'cut', afterBytes: 1024 * 1024 }, 1);
    const cut = await get(blobUrl());
    assert.equal(cut.status, 200);
    assert.ok(cut.bodyError, 'the client sees an error, not a complete body');
    assert.ok(cut.body.length < blob.length);
    await assertNothingStored(digest);
    const healed = await get(blobUrl());
    assert.equal(healed.bodyError, undefined);
    assert.equal(sha256(healed.body), digest);
  });

  test('a wrong byte is caught by the digest: the response is aborted before its last byte', async () => {
    const other = testBytes(2 * 1024 * 1024, 12);
    const otherDigest = upstream.addBlob(other);
    upstream.setFault(otherDigest, { kind: 'wrong-byte', at: 1000 }, 1);
    const wrong = await get(blobUrl(otherDigest));
    assert.ok(wrong.bodyError, 'aborted');
    assert.ok(wrong.body.length < other.length, 'never a complete body');
    await assertNothingStored(otherDigest);
    const healed = await get(blobUrl(otherDigest));
    assert.equal(sha256(healed.body), otherDigest);
  });

  test('concurrent cold clients share one upstream transfer and all get exact bytes', async () => {
    const big = testBytes(8 * 1024 * 1024, 13);
    const bigDigest = upstream.addBlob(big);
    upstream.setFault(bigDigest, { kind: 'trickle', bytesPerSecond: 16 * 1024 * 1024 }, 1);
    const pulling = Promise.all(Array.from({ length: 12 }, () => get(blobUrl(bigDigest))));
    await transferStarted(bigDigest);
    const head = await get(blobUrl(bigDigest), {}, 'HEAD');
    assert.equal(head.headers['content-length'], String(big.length));
    const results = await pulling;
    for (const result of results) assert.equal(sha256(result.body), bigDigest);
    assert.equal(upstream.count({ method: 'GET', pathIncludes: bigDigest }), 1, 'exactly one upstream GET');
    assert.equal(upstream.count({ method: 'HEAD', pathIncludes: bigDigest }), 0, 'a HEAD during the transfer is answered from it');
  });

  test('upstream statuses map to OCI errors; 429 keeps Retry-After', async () => {
    const cases: Array<[number, number, string, Record<string, string>?]> = [
      [429, 429, 'TOOMANYREQUESTS', { 'retry-after': '17' }],
      [401, 401, 'UNAUTHORIZED'],
      [403, 403, 'DENIED'],
      [500, 503, 'UNAVAILABLE'],
    ];
    for (const [upstreamStatus, status, code, headers] of cases) {
      const d = upstream.addBlob(testBytes(100, upstreamStatus));
      upstream.setFault(d, { kind: 'status', status: upstreamStatus, ...(headers ? { headers } : {}) }, 1);
      const response = await getJson<{ errors: Array<{ code: string }> }>(blobUrl(d));
      assert.equal(response.status, status, `upstream ${upstreamStatus}`);
      assert.equal(response.json.errors[0]?.code, code);
      if (headers) assert.equal(response.headers['retry-after'], '17');
    }
    const missing = await getJson<{ errors: Array<{ code: string }> }>(blobUrl(sha256(Buffer.from('nowhere'))));
    assert.equal(missing.status, 404);
    assert.equal(missing.json.errors[0]?.code, 'BLOB_UNKNOWN');
  });

  test('Range works on a blob that is not cached yet, and on the cached blob', async () => {
    const bytes = testBytes(1024 * 1024, 14);
    const d = upstream.addBlob(bytes);
    const cold = await get(blobUrl(d), { range: 'bytes=1000-1999' });
    assert.equal(cold.status, 206);
    assert.equal(cold.headers['content-range'], `bytes 1000-1999/${bytes.length}`);
    assert.deepEqual(cold.body, bytes.subarray(1000, 2000));
    await layover.instance.core.blobs.open({ client: layover.instance.core.router.default, repository: 'library/app', digest: d, kind: 'pull' }).then((s) => s.complete());
    const warm = await get(blobUrl(d), { range: 'bytes=-10' });
    assert.equal(warm.status, 206);
    assert.deepEqual(warm.body, bytes.subarray(bytes.length - 10));
    const unsatisfiable = await get(blobUrl(d), { range: `bytes=${bytes.length}-` });
    assert.equal(unsatisfiable.status, 416);
    assert.equal(unsatisfiable.headers['content-range'], `bytes */${bytes.length}`);
    assert.equal(JSON.parse(unsatisfiable.body.toString()).errors[0].code, 'RANGE_INVALID');
  });

  test('an uncached blob of unknown range answers 416 even before it is cached', async () => {
    const bytes = testBytes(4096, 15);
    const d = upstream.addBlob(bytes);
    const response = await get(blobUrl(d), { range: 'bytes=5000-6000' });
    assert.equal(response.status, 416);
  });

  test('manifests over 4 MiB are refused', async () => {
    const huge = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', annotations: { pad: 'x'.repeat(4 * 1024 * 1024) } };
    upstream.addManifest('library/huge', 'latest', huge);
    const response = await getJson<{ errors: Array<{ code: string; message: string }> }>(`${layover.url}/v2/library/huge/manifests/latest`);
    assert.equal(response.status, 502);
    assert.equal(response.json.errors[0]?.code, 'MANIFEST_INVALID');
    assert.match(response.json.errors[0]!.message, /4 MiB/);
  });

  test('a manifest whose bytes do not match the digest asked for is refused and not stored', async () => {
    const d = upstream.addManifest('library/m', 'v1', { schemaVersion: 2, layers: [] });
    upstream.setFault(`manifests/${d}`, { kind: 'wrong-byte', at: 3 }, 1);
    const wrong = await getJson<{ errors: Array<{ code: string }> }>(`${layover.url}/v2/library/m/manifests/${d}`);
    assert.equal(wrong.status, 502);
    assert.equal(wrong.json.errors[0]?.code, 'MANIFEST_INVALID');
    await assertNothingStored(d);
    const healed = await get(`${layover.url}/v2/library/m/manifests/${d}`);
    assert.equal(healed.status, 200);
    assert.equal(sha256(healed.body), d);
  });
});

describe('redirects, failover and the Bearer flow', () => {
  test('a blob redirect to another host is followed without our Authorization header', async () => {
    const origin = await startFaultUpstream({ bearer: {} });
    const objectStore = await startFaultUpstream();
    const bytes = testBytes(300_000, 21);
    const d = origin.addBlob(bytes);
    objectStore.addBlob(bytes);
    origin.setFault(d, { kind: 'redirect', to: objectStore.url });
    const layover = await startLayover({ upstream: origin.url });
    try {
      const response = await get(`${layover.url}/v2/library/app/blobs/${d}`);
      assert.equal(sha256(response.body), d);
      const atStore = objectStore.requests.filter((r) => r.path.includes(d));
      assert.equal(atStore.length, 1);
      assert.equal(atStore[0]!.authorization, undefined, 'no credentials leak to the object store');
      assert.ok(origin.requests.some((r) => r.authorization?.startsWith('Bearer ')), 'the registry itself got the token');
    } finally {
      await layover.stop();
      await origin.stop();
      await objectStore.stop();
    }
  });

  test('tokens are fetched per repository scope, with credentials, and reused until they expire', async () => {
    const origin = await startFaultUpstream({ bearer: { username: 'ann', password: 's3cret' } });
    const m1 = origin.addManifest('team/one', 'latest', { schemaVersion: 2, layers: [] });
    origin.addManifest('team/two', 'latest', { schemaVersion: 2, layers: [1] });
    const layover = await startLayover({
      upstream: 'http://127.0.0.1:1',
      settings: { tagFreshnessSeconds: 0 },
      registries: [],
    });
    await layover.instance.api.updateSettings({
      registries: [
        ...layover.instance.core.settings.registries,
        { name: 'private.example', endpoints: [{ url: origin.url, username: 'ann', password: 's3cret' }] },
      ],
    });
    try {
      for (let i = 0; i < 3; i++) {
        const one = await get(`${layover.url}/v2/private.example/team/one/manifests/latest`);
        assert.equal(one.status, 200);
        assert.equal(one.headers['docker-content-digest'], m1);
      }
      assert.equal((await get(`${layover.url}/v2/team/two/manifests/latest?ns=private.example`)).status, 200);
      const scopes = origin.tokenRequests.map((t) => t.scope);
      assert.deepEqual(scopes, ['repository:team/one:pull', 'repository:team/two:pull'], 'one token per scope, reused');
      assert.ok(origin.tokenRequests.every((t) => t.basicUser === 'ann'));
      const settings = await layover.instance.api.getSettings();
      const endpoint = settings.registries.find((r) => r.name === 'private.example')!.endpoints[0]!;
      assert.equal(endpoint.password, undefined, 'passwords never leave through the API');
      assert.equal(endpoint.hasPassword, true);
    } finally {
      await layover.stop();
      await origin.stop();
    }
  });

  test('bad credentials give UNAUTHORIZED, not a generic failure', async () => {
    const origin = await startFaultUpstream({ bearer: { username: 'ann', password: 'right' } });
    origin.addManifest('team/one', 'latest', { schemaVersion: 2, layers: [] });
    const layover = await startLayover({ upstream: 'http://127.0.0.1:1' });
    await layover.instance.api.updateSettings({
      registries: [...layover.instance.core.settings.registries, { name: 'private.example', endpoints: [{ url: origin.url, username: 'ann', password: 'wrong' }] }],
    });
    try {
      const response = await getJson<{ errors: Array<{ code: string }> }>(`${layover.url}/v2/private.example/team/one/manifests/latest`);
      assert.equal(response.status, 401);
      assert.equal(response.json.errors[0]?.code, 'UNAUTHORIZED');
    } finally {
      await layover.stop();
      await origin.stop();
    }
  });

  test('the regional cache endpoint fails over to the origin, and the origin is used while the cache is down', async () => {
    const regional = await startFaultUpstream();
    const origin = await startFaultUpstream();
    const bytes = testBytes(10_000, 31);
    const d = origin.addBlob(bytes);
    regional.addBlob(bytes);
    regional.setFault(d, { kind: 'status', status: 502 });
    const layover = await startLayover({ upstream: 'http://127.0.0.1:1', registries: [`dtr.example.com=${regional.url},${origin.url}`] });
    try {
      const response = await get(`${layover.url}/v2/dtr.example.com/eng/app/blobs/${d}`);
      assert.equal(sha256(response.body), d);
      assert.equal(origin.count({ method: 'GET', pathIncludes: d }), 1);
      const status = await layover.instance.api.getStatus();
      const endpoints = status.registries.find((r) => r.name === 'dtr.example.com')!.endpoints;
      assert.equal(endpoints[0]!.health, 'degraded');
      assert.equal(endpoints[1]!.health, 'healthy');
    } finally {
      await layover.stop();
      await regional.stop();
      await origin.stop();
    }
  });
});
