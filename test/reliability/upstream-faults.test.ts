/**
 * The reliability suite's upstream faults, each on a real loopback server:
 * 500s, a slow trickle, DNS failure, TLS failure, and failover from the
 * regional cache to the origin and back. (Cuts, wrong bytes, 429 and redirects
 * are in test/mirror/faults.test.ts.) For each: a clean error or the right
 * bytes, nothing bad stored, exact bytes once the fault heals.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { initTls, tlsFiles } from '../../src-main/app/tls/certificates.js';
import { startFaultUpstream, type FaultUpstream } from '../support/fault-upstream.js';
import { get, getJson, sha256, testBytes, type FetchedBody } from '../support/http.js';
import { startLayover, type LayoverUnderTest } from '../support/layover.js';
import { makeTempDir, removeTempDir } from '../support/process.js';
import { UNRESOLVABLE_HOST } from '../support/ports.js';
import { writeResults } from './results.js';

type ErrorBody = { errors: Array<{ code: string; message: string }> };

/** What this file's tests saw, for results.json: every client request ends as a clean error or exact bytes. */
const tally = { tests: 0, passed: 0, faultKinds: [] as string[], clientRequests: 0, cleanErrors: 0, exactBodies: 0 };

/** A test body that counts toward the tally: its fault kind is listed once the test has passed. */
function faultTest(kind: string, body: () => Promise<void>): () => Promise<void> {
  return async () => {
    tally.tests += 1;
    await body();
    tally.passed += 1;
    tally.faultKinds.push(kind);
  };
}

async function getBlob(url: string): Promise<FetchedBody> {
  const response = await get(url);
  countResponse(response.status, response.bodyError === undefined && response.status === 200);
  return response;
}

async function getError(url: string): Promise<{ status: number; json: ErrorBody }> {
  const response = await getJson<ErrorBody>(url);
  countResponse(response.status, false);
  return response;
}

function countResponse(status: number, whole: boolean): void {
  tally.clientRequests += 1;
  if (status >= 400) tally.cleanErrors += 1;
  else if (whole) tally.exactBodies += 1;
}

after(async () => {
  const { tests, passed, ...figures } = tally;
  await writeResults('upstreamFaults', { ...figures, faultKinds: figures.faultKinds.join(', '), faultKindCount: figures.faultKinds.length, tests },
    passed < tests ? `${tests - passed} of ${tests} tests failed` : undefined);
});

describe('500s and trickles', () => {
  let upstream: FaultUpstream;
  let layover: LayoverUnderTest;
  before(async () => {
    upstream = await startFaultUpstream();
    layover = await startLayover({ upstream: upstream.url });
  });
  after(async () => {
    await layover?.stop();
    await upstream?.stop();
  });

  test('a 500 gives a clean 503 and stores nothing; the next request after the fault heals gets exact bytes', faultTest('HTTP 500', async () => {
    const bytes = testBytes(500_000, 51);
    const digest = upstream.addBlob(bytes);
    upstream.setFault(digest, { kind: 'status', status: 500 }, 2);
    for (let i = 0; i < 2; i++) {
      const failed = await getError(`${layover.url}/v2/library/a/blobs/${digest}`);
      assert.equal(failed.status, 503);
      assert.equal(failed.json.errors[0]?.code, 'UNAVAILABLE');
    }
    assert.equal(await layover.instance.core.store.sizeOf(digest), undefined);
    const healed = await getBlob(`${layover.url}/v2/library/a/blobs/${digest}`);
    assert.equal(sha256(healed.body), digest);
  }));

  test('a slow trickle arrives whole and verified', faultTest('trickle', async () => {
    const bytes = testBytes(400_000, 52);
    const digest = upstream.addBlob(bytes);
    upstream.setFault(digest, { kind: 'trickle', bytesPerSecond: 400_000 }, 1);
    const response = await getBlob(`${layover.url}/v2/library/a/blobs/${digest}`);
    assert.equal(response.bodyError, undefined);
    assert.equal(sha256(response.body), digest);
  }));
});

test('DNS failure: an endpoint whose host does not resolve gives a clean 503 naming the resolver error (not a timeout), and fails over when there is another', faultTest('DNS failure', async () => {
  const origin = await startFaultUpstream();
  const bytes = testBytes(20_000, 53);
  const digest = origin.addBlob(bytes);
  const layover = await startLayover({
    upstream: 'http://127.0.0.1:1',
    registries: [`lost.example=http://${UNRESOLVABLE_HOST}:5000`, `dtr.example.com=http://${UNRESOLVABLE_HOST}:5000,${origin.url}`],
  });
  try {
    // The resolver's own error, not a timeout: the failure came from the lookup, however long the lookup took on this machine.
    const alone = await getError(`${layover.url}/v2/lost.example/a/blobs/${digest}`);
    assert.equal(alone.status, 503);
    assert.match(alone.json.errors[0]!.message, /ENOTFOUND|EAI_AGAIN|getaddrinfo/);
    assert.doesNotMatch(alone.json.errors[0]!.message, /timed? ?out/i);
    const failover = await getBlob(`${layover.url}/v2/dtr.example.com/a/blobs/${digest}`);
    assert.equal(sha256(failover.body), digest);
    assert.equal(origin.count({ method: 'GET', pathIncludes: digest }), 1, 'the origin answered once the unresolvable endpoint failed');
  } finally {
    await layover.stop();
    await origin.stop();
  }
}));

test('TLS failure: an untrusted upstream certificate is a clean error; with its CA bundle configured it works', faultTest('untrusted TLS certificate', async () => {
  const work = await makeTempDir('upstream-tls');
  await initTls(work, ['127.0.0.1']);
  const files = tlsFiles(work);
  const origin = await startFaultUpstream({ tls: { cert: await readFile(files.serverCert), key: await readFile(files.serverKey) } });
  const bytes = testBytes(30_000, 54);
  const digest = origin.addBlob(bytes);
  const layover = await startLayover({ upstream: 'http://127.0.0.1:1' });
  try {
    await layover.instance.api.updateSettings({
      registries: [
        ...layover.instance.core.settings.registries,
        { name: 'untrusted.example', endpoints: [{ url: origin.url }] },
        { name: 'trusted.example', endpoints: [{ url: origin.url, caFile: files.caCert }] },
      ],
    });
    const refused = await getError(`${layover.url}/v2/untrusted.example/a/blobs/${digest}`);
    assert.equal(refused.status, 503);
    assert.match(refused.json.errors[0]!.message, /certificate|self.signed|issuer/i);
    assert.equal(await layover.instance.core.store.sizeOf(digest), undefined);
    const trusted = await getBlob(`${layover.url}/v2/trusted.example/a/blobs/${digest}`);
    assert.equal(sha256(trusted.body), digest);
  } finally {
    await layover.stop();
    await origin.stop();
    await removeTempDir(work);
  }
}));

test('failover from the regional cache to the origin while the cache fails, and back once it heals', faultTest('regional cache down (failover)', async () => {
  const regional = await startFaultUpstream();
  const origin = await startFaultUpstream();
  const blobs = [51, 52, 53].map((seed) => testBytes(10_000, 100 + seed));
  const digests = blobs.map((bytes) => {
    origin.addBlob(bytes);
    return regional.addBlob(bytes);
  });
  const layover = await startLayover({ upstream: 'http://127.0.0.1:1', registries: [`dtr.example.com=${regional.url},${origin.url}`] });
  try {
    regional.setFault(digests[0]!, { kind: 'status', status: 503 }, 1);
    const duringOutage = await getBlob(`${layover.url}/v2/dtr.example.com/a/blobs/${digests[0]}`);
    assert.equal(sha256(duringOutage.body), digests[0]);
    assert.equal(origin.count({ method: 'GET', pathIncludes: digests[0]! }), 1, 'the origin answered during the outage');
    const afterHeal = await getBlob(`${layover.url}/v2/dtr.example.com/a/blobs/${digests[1]}`);
    assert.equal(sha256(afterHeal.body), digests[1]);
    assert.equal(regional.count({ method: 'GET', pathIncludes: digests[1]! }), 1, 'back to the regional cache once it answers');
    assert.equal(origin.count({ method: 'GET', pathIncludes: digests[1]! }), 0);
  } finally {
    await layover.stop();
    await regional.stop();
    await origin.stop();
  }
}));
