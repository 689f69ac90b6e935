/**
 * Fuzzed input on the referrers route (fast-check): digest-shaped subjects
 * (well-formed, wrong algorithm, wrong length, path tricks), arbitrary
 * artifactType values, n and last. Never a 5xx, always either the OCI index
 * or the OCI error JSON; the count of requests that got past the grammar to
 * the upstream and the cache is checked, so the fuzz really reaches the code
 * behind it.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { get } from '../support/http.js';
import { startLayover, type LayoverUnderTest } from '../support/layover.js';
import { ARTIFACT_TYPES, useSignedUpstream, type SignedUpstream } from './support.js';

const RUNS = Number(process.env.LAYOVER_FUZZ_RUNS ?? 300);
const REPOSITORY = 'fuzz/app';

let content: SignedUpstream;
let layover: LayoverUnderTest;

const HEX = [...'0123456789abcdef'];
const hex = (length: number) => fc.string({ unit: fc.constantFrom(...HEX), minLength: length, maxLength: length });
const wellFormed = fc.oneof(
  hex(64).map((encoded) => `sha256:${encoded}`),
  hex(128).map((encoded) => `sha512:${encoded}`),
  fc.constant('KNOWN'), // replaced by the signed image's digest
);
const piece = fc.constantFrom('..', '%2f', '%2e%2e', '%00', ':', 'é', '\u202e', '😀', 'A', 'sha256', '-', '+', '=');
const malformed = fc.oneof(
  fc.tuple(fc.constantFrom('sha256', 'sha512', 'md5', 'SHA256', 'constructor', '__proto__', ''), fc.string({ unit: fc.constantFrom(...HEX, 'g', 'Z'), maxLength: 130 }))
    .map(([algorithm, encoded]) => `${algorithm}:${encoded}`),
  fc.tuple(wellFormed, piece, fc.nat(80)).map(([digest, inserted, at]) => digest.slice(0, at) + inserted + digest.slice(at)),
  fc.string({ maxLength: 80 }),
);
const artifactType = fc.oneof(
  fc.constantFrom(...Object.values(ARTIFACT_TYPES), '', 'application/', '*/*', 'a'.repeat(2000)),
  fc.string({ unit: 'grapheme', maxLength: 120 }),
);
const pageSize = fc.oneof(fc.constant(undefined), fc.nat(5).map(String), fc.constantFrom('-1', 'x', '1e3', '99999999999'));

describe('the referrers route under fuzz', () => {
  const fixture = useSignedUpstream('referrers-fuzz', REPOSITORY);
  before(async () => {
    content = fixture.content;
    layover = await startLayover({ upstream: fixture.upstream.url });
    fixture.cleanup(() => layover.stop());
  });

  test('referrers route: fuzzed digests, artifact types, n and last never get a 5xx', async () => {
    let pastGrammar = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(wellFormed, malformed), fc.array(artifactType, { maxLength: 3 }), pageSize, fc.option(malformed), async (rawDigest, types, n, last) => {
        const digest = rawDigest === 'KNOWN' ? content.subject.digest : rawDigest;
        const query = new URLSearchParams();
        for (const type of types) query.append('artifactType', type);
        if (n !== undefined) query.set('n', n);
        if (last !== null) query.set('last', last);
        const path = `/v2/${REPOSITORY}/referrers/${encodeURI(digest).replace(/\?/g, '%3F').replace(/#/g, '%23')}?${query.toString()}`;
        const response = await get(`${layover.url}${path}`);
        assert.ok(response.status < 500, `${path} -> ${response.status} ${response.body.toString('utf8').slice(0, 200)}`);
        const json = JSON.parse(response.body.toString('utf8')) as { manifests?: unknown[]; errors?: Array<{ code: string }> };
        if (response.status === 200) {
          pastGrammar++;
          assert.ok(Array.isArray(json.manifests), 'an OCI index');
          if (types.some(Boolean)) assert.equal(response.headers['oci-filters-applied'], 'artifactType');
        } else {
          assert.ok(json.errors?.[0]?.code, `OCI error JSON for ${path}`);
        }
      }),
      { numRuns: RUNS },
    );
    assert.ok(pastGrammar >= RUNS / 5, `only ${pastGrammar} of ${RUNS} requests got past the grammar`);
  });
});
