/**
 * Property-based fuzzing of the /v2 front with fast-check: names, references,
 * digests, Range, headers and methods. Never a 5xx from bad input, never a
 * path outside the data directory, always the OCI error JSON.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readdir } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import fc from 'fast-check';
import { BlobStore } from '../../src-main/core/store/blob-store.js';
import { startFaultUpstream, type FaultUpstream } from '../support/fault-upstream.js';
import { startLayover, type LayoverUnderTest } from '../support/layover.js';
import { makeTempDir, removeTempDir } from '../support/process.js';

const RUNS = Number(process.env.LAYOVER_FUZZ_RUNS ?? 600);

let upstream: FaultUpstream;
let layover: LayoverUnderTest;
let work: string;
before(async () => {
  work = await makeTempDir('fuzz');
  upstream = await startFaultUpstream();
  upstream.addManifest('library/ok', 'latest', { schemaVersion: 2, layers: [] });
  upstream.addBlob(Buffer.from('a known blob'));
  layover = await startLayover({ upstream: upstream.url, dataDir: join(work, 'data') });
});
after(async () => {
  await layover?.stop();
  await upstream?.stop();
  if (work) await removeTempDir(work);
});

/** Raw HTTP, so the path reaches the server exactly as generated. */
function send(method: string, path: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const [host, port] = layover.host.split(':');
  return new Promise((resolvePromise, reject) => {
    const req = request({ host, port: Number(port), method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const nastyPiece = fc.constantFrom('..', '.', '%2e%2e', '%2f', '..%2f', '//', 'a', 'library', 'ok', 'manifests', 'blobs', 'tags', 'list', '_catalog',
  'sha256:' + 'a'.repeat(64), 'sha256:../../etc/passwd', 'sha512:' + 'b'.repeat(128), 'latest', 'UPPER', '-x', 'x-', '__proto__', 'constructor', '%00', '~', 'uploads', 'ns');
const pathPiece = fc.oneof(nastyPiece, fc.stringMatching(/^[!-~]{0,40}$/).filter((s) => !s.includes('?') && !s.includes('#')));
const path = fc.array(pathPiece, { minLength: 0, maxLength: 8 }).map((parts) => `/v2/${parts.join('/')}`);
const query = fc.option(fc.constantFrom('?n=2', '?n=-1', '?n=abc', '?last=zzz', '?ns=dtr.example.com', '?ns=..', '?n=99999999999'), { nil: '' });
const method = fc.constantFrom('GET', 'HEAD', 'GET', 'GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS');
const headers = fc.record({
  range: fc.option(fc.constantFrom('bytes=0-0', 'bytes=5-1', 'bytes=-0', 'bytes=99999999-', 'bytes=a-b', 'items=0-1', 'bytes=0-1,3-4', 'bytes='), { nil: undefined }),
  accept: fc.option(fc.constantFrom('*/*', 'application/vnd.oci.image.index.v1+json', 'text/html', ';;;', ''), { nil: undefined }),
}, { requiredKeys: [] });

test(`${RUNS} generated requests: no 5xx from bad input, always OCI error JSON, nothing outside the data dir`, async () => {
  const before = await readdir(work);
  await fc.assert(
    fc.asyncProperty(method, path, query, headers, async (m, p, q, h) => {
      const cleanHeaders = Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>;
      const response = await send(m, p + q, cleanHeaders);
      assert.ok(response.status < 500, `${m} ${p}${q} ${JSON.stringify(cleanHeaders)} -> ${response.status} ${response.body}`);
      if (response.status >= 400 && m !== 'HEAD') {
        const body = JSON.parse(response.body) as { errors: Array<{ code: string; message: string }> };
        assert.ok(Array.isArray(body.errors) && typeof body.errors[0]?.code === 'string' && typeof body.errors[0]?.message === 'string');
      }
    }),
    { numRuns: RUNS },
  );
  assert.deepEqual(await readdir(work), before, 'nothing was created beside the data dir');
});

test('every path the store builds from a request stays inside the blobs folder', () => {
  const store = new BlobStore('/srv/layover-data');
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (digest) => {
      let built: string;
      try {
        built = store.pathOf(digest);
      } catch {
        return; // refused: not a digest the store can hold
      }
      assert.ok(resolve(built).startsWith(resolve(store.blobsDir) + sep), built);
    }),
    { numRuns: 5_000 },
  );
});
