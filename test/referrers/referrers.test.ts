/**
 * The OCI 1.1 referrers API through Layover, against a real docker-registry
 * (distribution 2.8, no referrers API: every answer here is built from the
 * spec's tag-schema fallback). Answers are checked against the spec: an OCI
 * index, the artifactType filter with OCI-Filters-Applied, an empty index
 * (200) for an unsigned image, each descriptor's digest and size, paging by
 * Link. Cached like a tag: a hit asks nothing upstream, a revalidation sees a
 * new signature, an outage serves the cached list stale.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { get, sha256 } from '../support/http.js';
import { startLayover, type LayoverUnderTest } from '../support/layover.js';
import type { TestRegistry } from '../support/registry.js';
import { ARTIFACT_TYPES, pushArtifact, pushFallbackIndex, useSignedUpstream, type Descriptor, type SignedUpstream } from './support.js';

const REPOSITORY = 'team/app';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

interface Index {
  schemaVersion: number;
  mediaType: string;
  manifests: Descriptor[];
}

async function referrers(layover: LayoverUnderTest, subject: string, query = ''): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; index: Index }> {
  const response = await get(`${layover.url}/v2/${REPOSITORY}/referrers/${subject}${query}`);
  return { status: response.status, headers: response.headers, index: JSON.parse(response.body.toString('utf8')) as Index };
}

const referrerRequests = { pathIncludes: '/referrers/' };
const fallbackTagRequests = (subject: string) => ({ pathIncludes: `/manifests/${subject.replace(':', '-')}` });

describe('referrers through Layover (tag-schema fallback upstream)', () => {
  const fixture = useSignedUpstream('referrers', REPOSITORY);
  let upstream: TestRegistry;
  let upstreamContent: SignedUpstream;
  let layover: LayoverUnderTest;

  before(async () => {
    ({ upstream, content: upstreamContent } = fixture);
    layover = await startLayover({ upstream: upstream.url });
    fixture.cleanup(() => layover.stop());
  });

  test('an OCI index of the artifacts with that subject; every descriptor names the upstream manifest exactly', async () => {
    const { status, headers, index } = await referrers(layover, upstreamContent.subject.digest);
    assert.equal(status, 200);
    assert.equal(headers['content-type'], OCI_INDEX);
    assert.equal(index.schemaVersion, 2);
    assert.equal(index.mediaType, OCI_INDEX);
    assert.equal(headers['oci-filters-applied'], undefined, 'no filter was asked');
    const expected = Object.values(upstreamContent.artifacts).map((artifact) => artifact.descriptor);
    assert.deepEqual(new Set(index.manifests.map((entry) => entry.digest)), new Set(expected.map((entry) => entry.digest)));
    for (const entry of index.manifests) {
      const original = expected.find((candidate) => candidate.digest === entry.digest)!;
      assert.deepEqual(entry, original, 'descriptor as the upstream listed it (media type, size, artifactType, annotations)');
      const manifest = await get(`${layover.url}/v2/${REPOSITORY}/manifests/${entry.digest}`, { accept: entry.mediaType });
      assert.equal(manifest.status, 200);
      assert.equal(sha256(manifest.body), entry.digest, 'the descriptor digest is the digest of the bytes served');
      assert.equal(manifest.body.length, entry.size);
      const json = JSON.parse(manifest.body.toString('utf8')) as { subject: Descriptor; artifactType: string };
      assert.equal(json.subject.digest, upstreamContent.subject.digest, 'the artifact names the image as its subject');
      assert.equal(json.artifactType, entry.artifactType);
    }
  });

  test('artifacts pass byte-exact: manifest with subject and artifactType, arbitrary layer media types, the upstream digest', async () => {
    for (const artifact of Object.values(upstreamContent.artifacts)) {
      const before = await upstream.mark();
      const viaLayover = await get(`${layover.url}/v2/${REPOSITORY}/manifests/${artifact.descriptor.digest}`, {
        accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
      });
      assert.equal(viaLayover.status, 200);
      assert.deepEqual(viaLayover.body, artifact.body, 'never converted');
      assert.equal(viaLayover.headers['docker-content-digest'], artifact.descriptor.digest);
      assert.equal(viaLayover.headers['content-type'], 'application/vnd.oci.image.manifest.v1+json');
      const layer = await get(`${layover.url}/v2/${REPOSITORY}/blobs/${artifact.layerDigest}`);
      assert.equal(layer.status, 200);
      assert.deepEqual(layer.body, artifact.layerBytes);
      assert.ok((await upstream.count({ since: before, pathIncludes: artifact.descriptor.digest })) <= 1);
    }
    // cosign's .sig tag (what cosign and skopeo's use-sigstore-attachments read) passes too.
    const tag = `${upstreamContent.subject.digest.replace(':', '-')}.sig`;
    const sig = await get(`${layover.url}/v2/${REPOSITORY}/manifests/${tag}`, { accept: 'application/vnd.oci.image.manifest.v1+json' });
    assert.equal(sig.status, 200);
    assert.equal(sha256(sig.body), upstreamContent.cosignSignature.manifestDigest);
  });

  test('artifactType filter: only that type, and OCI-Filters-Applied says the filter was applied', async () => {
    const { status, headers, index } = await referrers(layover, upstreamContent.subject.digest, `?artifactType=${encodeURIComponent(ARTIFACT_TYPES.sbom)}`);
    assert.equal(status, 200);
    assert.equal(headers['oci-filters-applied'], 'artifactType');
    assert.deepEqual(index.manifests.map((entry) => entry.digest), [upstreamContent.artifacts.sbom.descriptor.digest]);
    const none = await referrers(layover, upstreamContent.subject.digest, '?artifactType=application%2Fvnd.example.nothing');
    assert.equal(none.status, 200);
    assert.deepEqual(none.index.manifests, []);
    assert.equal(none.headers['oci-filters-applied'], 'artifactType');
  });

  test('an unsigned image: 200 with an empty index, never 404; an image nobody has: empty as well', async () => {
    const { status, headers, index } = await referrers(layover, upstreamContent.unsigned.digest);
    assert.equal(status, 200);
    assert.equal(headers['content-type'], OCI_INDEX);
    assert.deepEqual(index, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
    const unknown = await referrers(layover, `sha256:${'0'.repeat(64)}`);
    assert.equal(unknown.status, 200);
    assert.deepEqual(unknown.index.manifests, []);
  });

  test('paging: n per page, a Link to the next page, every referrer once', async () => {
    const seen: string[] = [];
    let next: string | undefined = `/v2/${REPOSITORY}/referrers/${upstreamContent.subject.digest}?n=1`;
    let pages = 0;
    while (next) {
      const response = await get(`${layover.url}${next}`);
      assert.equal(response.status, 200);
      const index = JSON.parse(response.body.toString('utf8')) as Index;
      assert.equal(index.manifests.length, 1);
      seen.push(...index.manifests.map((entry) => entry.digest));
      const link = response.headers.link as string | undefined;
      next = link ? /^<([^>]+)>; rel="next"$/.exec(link)?.[1] : undefined;
      if (link) assert.ok(next, `Link as the spec writes it: ${link}`);
      pages++;
      assert.ok(pages <= 3, 'paging ends');
    }
    assert.equal(pages, 3);
    assert.deepEqual(seen.sort(), Object.values(upstreamContent.artifacts).map((artifact) => artifact.descriptor.digest).sort());
  });

  test('bad input: an invalid digest is 400 DIGEST_INVALID, a write is 405; HEAD answers without a body', async () => {
    const bad = await get(`${layover.url}/v2/${REPOSITORY}/referrers/sha256:nothex`);
    assert.equal(bad.status, 400);
    assert.equal((JSON.parse(bad.body.toString('utf8')) as { errors: Array<{ code: string }> }).errors[0]!.code, 'DIGEST_INVALID');
    const put = await get(`${layover.url}/v2/${REPOSITORY}/referrers/${upstreamContent.subject.digest}`, {}, 'HEAD');
    assert.equal(put.status, 200);
    assert.equal(put.body.length, 0);
  });

  test('cached: inside the freshness window a second answer asks the upstream nothing', async () => {
    await referrers(layover, upstreamContent.subject.digest);
    const mark = await upstream.mark();
    const again = await referrers(layover, upstreamContent.subject.digest);
    assert.equal(again.headers['x-layover-cache'], 'hit');
    assert.equal(again.index.manifests.length, 3);
    assert.equal(await upstream.count({ since: mark }), 0);
  });
});

describe('referrers revalidated like a tag, and served stale when the upstream is out', () => {
  const fixture = useSignedUpstream('referrers-stale', REPOSITORY);
  let upstream: TestRegistry;
  let upstreamContent: SignedUpstream;
  let layover: LayoverUnderTest;

  before(async () => {
    ({ upstream, content: upstreamContent } = fixture);
    // A freshness window of 0: every answer is revalidated, so the test needs no clock.
    layover = await startLayover({ upstream: upstream.url, settings: { tagFreshnessSeconds: 0 } });
    fixture.cleanup(() => layover.stop());
  });

  test('after the window the upstream is asked again (the referrers API once, then the fallback tag by HEAD) and a new signature appears', async () => {
    const subject = upstreamContent.subject.digest;
    const first = await referrers(layover, subject);
    assert.equal(first.index.manifests.length, 3);
    assert.equal(first.headers['x-layover-cache'], 'miss');
    assert.equal(await upstream.count({ ...referrerRequests, method: 'GET' }), 1, 'the referrers API is asked once; its 404 sends Layover to the fallback from then on');

    const mark = await upstream.mark();
    const unchanged = await referrers(layover, subject);
    assert.equal(unchanged.headers['x-layover-cache'], 'revalidated');
    assert.equal(await upstream.count({ since: mark, ...fallbackTagRequests(subject), method: 'HEAD' }), 1, 'revalidated with one HEAD of the fallback tag');
    assert.equal(await upstream.count({ since: mark, ...fallbackTagRequests(subject), method: 'GET' }), 0);

    const added = await pushArtifact(upstream.url, REPOSITORY, {
      subject: upstreamContent.subject, artifactType: 'application/vnd.cncf.notary.signature', layerMediaType: 'application/jose+json', content: Buffer.from('{"notary":"signature"}'),
    });
    await pushFallbackIndex(upstream.url, REPOSITORY, subject, [...Object.values(upstreamContent.artifacts).map((artifact) => artifact.descriptor), added.descriptor]);
    const changed = await referrers(layover, subject);
    assert.equal(changed.headers['x-layover-cache'], 'miss');
    assert.ok(changed.index.manifests.some((entry) => entry.digest === added.descriptor.digest), 'the new signature is listed');
    assert.equal(changed.index.manifests.length, 4);
  });

  test('upstream stopped: the cached list is served with the stale headers tags get; an unknown subject is 503', async () => {
    const subject = upstreamContent.subject.digest;
    const online = await referrers(layover, subject);
    await upstream.stop();
    try {
      const offline = await referrers(layover, subject);
      assert.equal(offline.status, 200);
      assert.equal(offline.headers['x-layover-cache'], 'stale');
      assert.match(String(offline.headers.warning), /^110 /);
      assert.deepEqual(offline.index, online.index);
      const filtered = await referrers(layover, subject, `?artifactType=${encodeURIComponent(ARTIFACT_TYPES.attestation)}`);
      assert.deepEqual(filtered.index.manifests.map((entry) => entry.digest), [upstreamContent.artifacts.attestation.descriptor.digest]);
      const never = await get(`${layover.url}/v2/${REPOSITORY}/referrers/${upstreamContent.unsigned.digest.replace(/.$/, (c) => (c === '0' ? '1' : '0'))}`);
      assert.equal(never.status, 503);
      assert.equal((JSON.parse(never.body.toString('utf8')) as { errors: Array<{ code: string }> }).errors[0]!.code, 'UNAVAILABLE');
    } finally {
      await upstream.start();
    }
  });
});

describe('an upstream with the referrers API: a second Layover chained to the first', () => {
  const fixture = useSignedUpstream('referrers-api', REPOSITORY);
  let content: SignedUpstream;
  let regional: LayoverUnderTest;
  let office: LayoverUnderTest;

  before(async () => {
    content = fixture.content;
    // The regional Layover speaks the referrers API; the office Layover uses it as its upstream.
    regional = await startLayover({ upstream: fixture.upstream.url });
    fixture.cleanup(() => regional.stop());
    office = await startLayover({ upstream: regional.url });
    fixture.cleanup(() => office.stop());
  });

  test('the upstream\'s referrers API is asked (no fallback tag), its answer cached and filtered here', async () => {
    const subject = content.subject.digest;
    const requestsOfRegional = () => regional.instance.core.telemetry.recentRequests().filter((request) => request.repository === REPOSITORY);
    const before = requestsOfRegional().length;
    const answer = await referrers(office, subject);
    assert.equal(answer.status, 200);
    assert.equal(answer.index.manifests.length, 3);
    // The regional Layover logs a request when its response closes: wait for that record, not for time.
    for (let polls = 0; requestsOfRegional().length === before && polls < 200; polls++) await new Promise((resolve) => setImmediate(resolve));
    const asked = requestsOfRegional().slice(before);
    assert.deepEqual(asked.map((request) => request.kind), ['referrers'], 'one referrers API call, no fallback tag');
    assert.equal(office.instance.core.referrers.cached('docker.io', REPOSITORY, subject)?.via, 'api');
    const filtered = await referrers(office, subject, `?artifactType=${encodeURIComponent(ARTIFACT_TYPES.signature)}`);
    assert.deepEqual(filtered.index.manifests.map((entry) => entry.digest), [content.artifacts.signature.descriptor.digest]);
    assert.equal(filtered.headers['x-layover-cache'], 'hit', 'filtered from the cached list');
  });
});
