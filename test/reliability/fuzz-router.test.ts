/**
 * Property-based fuzzing of the /v2 front with fast-check: names, references,
 * digests, Range, headers and methods. Never a 5xx from bad input, never a
 * file outside the data directory, always the OCI error JSON. Inputs are
 * digest-shaped and name-shaped, so most of them get past the grammar to the
 * code behind it; the tests count how many did and require it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readdir } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import fc from 'fast-check';
import { parseDigest } from '../../src-main/core/oci/grammar.js';
import { BlobStore } from '../../src-main/core/store/blob-store.js';
import { startFaultUpstream, type FaultUpstream } from '../support/fault-upstream.js';
import { startLayover, type LayoverUnderTest } from '../support/layover.js';
import { makeTempDir, removeTempDir } from '../support/process.js';
import { recordResults } from './results.js';

const RUNS = Number(process.env.LAYOVER_FUZZ_RUNS ?? 600);
const STORE_RUNS = Number(process.env.LAYOVER_FUZZ_STORE_RUNS ?? 5_000);

let upstream: FaultUpstream;
let layover: LayoverUnderTest;
let work: string;
let dataDir: string;
let knownBlob: string;
before(async () => {
  work = await makeTempDir('fuzz');
  // Deep inside the walked tree, so a path that climbs out of the data dir by a few `..` still lands where the walk sees it.
  dataDir = join(work, 'outer', 'middle', 'inner', 'data');
  upstream = await startFaultUpstream();
  upstream.addManifest('library/ok', 'latest', { schemaVersion: 2, layers: [] });
  knownBlob = upstream.addBlob(Buffer.from('a known blob'));
  layover = await startLayover({ upstream: upstream.url, dataDir });
});
after(async () => {
  await layover?.stop();
  await upstream?.stop();
  if (work) await removeTempDir(work);
});

// ---- digest-shaped input ----

const HEX = [...'0123456789abcdef'];
const KNOWN_ALGORITHMS = { sha256: 64, sha512: 128 } as const;

function hex(length: number): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...HEX), minLength: length, maxLength: length });
}

const knownAlgorithm = fc.constantFrom(...(Object.keys(KNOWN_ALGORITHMS) as Array<keyof typeof KNOWN_ALGORITHMS>));
const wellFormedDigest = knownAlgorithm.chain((algorithm) => hex(KNOWN_ALGORITHMS[algorithm]).map((encoded) => `${algorithm}:${encoded}`));
const unknownAlgorithm = fc.constantFrom('sha384', 'md5', 'blake3', 'sha256+b64u', 'SHA256', 'Sha512', 'sha', '..', '');
/** Names every object answers to: a lookup of the algorithm in a table must not find them. */
const prototypeName = fc.constantFrom('constructor', '__proto__', 'hasOwnProperty', 'valueOf', 'constructor');
/** What a path-traversal or encoding trick would splice into a digest. */
const nastyPiece = fc.constantFrom('..', '/', '../..', '%2f', '%2F', '%2e%2e', '\\', '\0', '%00', ':', ' ', '\n', 'é', 'ß', '\u202e', 'Ａ', '😀', 'A', 'F');

function splice(text: string, piece: string, at: number, replace: boolean): string {
  const index = at % (text.length + 1);
  return text.slice(0, index) + piece + text.slice(index + (replace ? piece.length : 0));
}

const malformedDigest = fc.oneof(
  fc.tuple(unknownAlgorithm, fc.constantFrom(32, 64, 96, 128)).chain(([algorithm, length]) => hex(length).map((encoded) => `${algorithm}:${encoded}`)),
  { weight: 3, arbitrary: fc.tuple(prototypeName, fc.constantFrom(1, 64)).chain(([algorithm, length]) => hex(length).map((encoded) => `${algorithm}:${encoded}`)) },
  fc.tuple(knownAlgorithm, fc.nat({ max: 200 })).chain(([algorithm, length]) => hex(length).map((encoded) => `${algorithm}:${encoded}`)),
  wellFormedDigest.map((digest) => digest.toUpperCase()),
  fc.tuple(wellFormedDigest, fc.nat()).map(([digest, at]) => splice(digest, digest[at % digest.length]!.toUpperCase(), at, true)),
  fc.tuple(wellFormedDigest, nastyPiece, fc.nat(), fc.boolean()).map(([digest, piece, at, replace]) => splice(digest, piece, at, replace)),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
);
/** Mostly well formed, so most runs reach what lies past the grammar; the rest is every way a digest can be wrong. */
const digestShaped = fc.oneof({ weight: 7, arbitrary: wellFormedDigest }, { weight: 3, arbitrary: malformedDigest });

// ---- the store's paths ----

test(`${STORE_RUNS} digest-shaped strings: the store builds a path only for a digest the grammar accepts, and only inside its blobs folder`, async () => {
  const store = new BlobStore('/srv/layover-data');
  const blobsDir = resolve(store.blobsDir);
  const counts = { runs: 0, reachedAssertion: 0, refused: 0 };
  const pathOwners = new Map<string, string>();
  await recordResults('fuzzStore', () => ({ ...counts }), async () => {
    fc.assert(
      fc.property(digestShaped, (digest) => {
        counts.runs += 1;
        const grammar = parseDigest(digest);
        let built: string;
        try {
          built = store.pathOf(digest);
        } catch {
          assert.equal(grammar, undefined, `the store refused ${JSON.stringify(digest)}, which the grammar accepts`);
          counts.refused += 1;
          return;
        }
        counts.reachedAssertion += 1;
        assert.ok(grammar, `the store built ${built} for ${JSON.stringify(digest)}, which the grammar refuses`);
        const inside = relative(blobsDir, resolve(built));
        assert.ok(!inside.startsWith('..') && !inside.split(sep).includes('..') && resolve(built).startsWith(blobsDir + sep), `${built} is inside ${blobsDir}`);
        assert.equal(basename(built), grammar.encoded, 'a blob file is named by its hex alone');
        const owner = pathOwners.get(built);
        assert.ok(owner === undefined || owner === digest, `${digest} and ${owner} share ${built}`);
        pathOwners.set(built, digest);
      }),
      { numRuns: STORE_RUNS },
    );
    assert.ok(counts.reachedAssertion >= counts.runs / 2, `most runs get past the grammar to the path assertion: ${counts.reachedAssertion} of ${counts.runs}`);
    assert.ok(counts.refused >= counts.runs / 10, `the malformed share is real: ${counts.refused} of ${counts.runs} refused`);
  });
});

// ---- the HTTP front ----

/** Sends the path as generated; only characters HTTP cannot carry raw (controls, non-ASCII) are percent-encoded. */
function wirePath(path: string): string {
  return [...path].map((char) => (/^[!-~]$/.test(char) && char !== '?' && char !== '#' ? char : encodeURIComponent(char))).join('');
}

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

const name = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('library/ok', 'ok', 'library/a', 'a/b/c', 'a.b/c_d', 'a-b__c') },
  { weight: 1, arbitrary: fc.constantFrom('library/Ok', 'a..b', 'a/../b', '..', 'library/ok/', '-x', 'x-', '__proto__', 'constructor/x', 'dtr.example.com/org/app') },
);
const tag = fc.constantFrom('latest', 'v1.0', '-bad', 'a'.repeat(129), '..', 'UPPER', '%2e%2e');
const pathPiece = fc.oneof(
  fc.constantFrom('..', '.', '%2e%2e', '%2f', '..%2f', '//', 'a', 'library', 'ok', 'manifests', 'blobs', 'tags', 'list', '_catalog', 'latest', '%00', '~', 'uploads', 'ns'),
  fc.stringMatching(/^[!-~]{0,40}$/).filter((s) => !s.includes('?') && !s.includes('#')),
);
const path = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(name, fc.oneof({ weight: 5, arbitrary: digestShaped }, { weight: 1, arbitrary: fc.constant('KNOWN') })).map(([n, d]) => `/v2/${n}/blobs/${d}`) },
  { weight: 2, arbitrary: fc.tuple(name, fc.oneof(digestShaped, tag)).map(([n, reference]) => `/v2/${n}/manifests/${reference}`) },
  { weight: 1, arbitrary: name.map((n) => `/v2/${n}/tags/list`) },
  { weight: 2, arbitrary: fc.array(pathPiece, { minLength: 0, maxLength: 8 }).map((parts) => `/v2/${parts.join('/')}`) },
);
const query = fc.option(fc.constantFrom('?n=2', '?n=-1', '?n=abc', '?last=zzz', '?ns=dtr.example.com', '?ns=..', '?n=99999999999'), { nil: '' });
const method = fc.oneof({ weight: 6, arbitrary: fc.constant('GET') }, { weight: 2, arbitrary: fc.constant('HEAD') }, fc.constantFrom('PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'));
const headers = fc.record({
  range: fc.option(fc.constantFrom('bytes=0-0', 'bytes=5-1', 'bytes=-0', 'bytes=99999999-', 'bytes=a-b', 'items=0-1', 'bytes=0-1,3-4', 'bytes='), { nil: undefined }),
  accept: fc.option(fc.constantFrom('*/*', 'application/vnd.oci.image.index.v1+json', 'text/html', ';;;', ''), { nil: undefined }),
}, { requiredKeys: [] });

/** Answers that show the request was understood and looked up: the grammar let it through. */
const LOOKED_UP = new Set(['BLOB_UNKNOWN', 'MANIFEST_UNKNOWN', 'RANGE_INVALID']);

/** Every file and folder under dir, as paths relative to it; `skip` (a folder) is left out with all it holds. */
async function walk(dir: string, skip: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((full) => full !== skip && !full.startsWith(skip + sep))
    .map((full) => relative(dir, full))
    .sort();
}

test(`${RUNS} generated requests: no 5xx from bad input, always OCI error JSON, nothing outside the data dir`, async () => {
  const treeBefore = await walk(work, dataDir);
  const counts = { requests: 0, pastGrammar: 0, ok: 0, clientErrors: 0, serverErrors: 0, filesOutsideDataDir: 0 };
  await recordResults('fuzzHttp', () => ({ ...counts }), async () => {
    await fc.assert(
      fc.asyncProperty(method, path, query, headers, async (m, p, q, h) => {
        const target = wirePath(p.replace('KNOWN', knownBlob)) + q;
        const cleanHeaders = Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>;
        const response = await send(m, target, cleanHeaders);
        counts.requests += 1;
        if (response.status >= 500) counts.serverErrors += 1;
        assert.ok(response.status < 500, `${m} ${target} ${JSON.stringify(cleanHeaders)} -> ${response.status} ${response.body}`);
        if (response.status < 400) {
          counts.ok += 1;
          counts.pastGrammar += 1;
          return;
        }
        counts.clientErrors += 1;
        if (m === 'HEAD') return;
        const body = JSON.parse(response.body) as { errors: Array<{ code: string; message: string }> };
        assert.ok(Array.isArray(body.errors) && typeof body.errors[0]?.code === 'string' && typeof body.errors[0]?.message === 'string');
        if (LOOKED_UP.has(body.errors[0]!.code)) counts.pastGrammar += 1;
      }),
      { numRuns: RUNS },
    );
    const outside = (await walk(work, dataDir)).filter((entry) => !treeBefore.includes(entry));
    counts.filesOutsideDataDir = outside.length;
    assert.deepEqual(outside, [], 'nothing was created outside the data dir, at any depth');
    assert.ok(counts.pastGrammar >= counts.requests / 5, `a fair share of requests reach the lookup behind the grammar: ${counts.pastGrammar} of ${counts.requests}`);
  });
});
