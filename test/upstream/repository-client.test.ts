/**
 * The typed upstream repository client (issue 14) against Debian's
 * docker-registry (CNCF distribution 2.8): blob HEAD and GET with Range,
 * manifest HEAD and GET with Accept, the tag list page by page, referrers
 * (2.8 has no referrers API: 'unsupported', so callers use the tag schema),
 * and the OCI errors a client sees. The token scope, and the endpoint's
 * repository prefix carried into path and scope, are checked on the loopback
 * fault registry, whose token server records the scopes it is asked for.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { writeSampleLayout, type SampleLayoutResult } from '../../src-main/demo/sample-images.js';
import { OciError } from '../../src-main/core/oci/errors.js';
import { RegistryClient } from '../../src-main/core/upstream/registry-client.js';
import { RepositoryClient } from '../../src-main/core/upstream/repository-client.js';
import { startFaultUpstream } from '../support/fault-upstream.js';
import { startLayover } from '../support/layover.js';
import { makeTempDir, removeTempDir } from '../support/process.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { pushSampleLayout } from '../support/skopeo.js';

const MiB = 1024 * 1024;
const TAGS = ['1.0', '1.1', '1.2', '2.0', 'latest'];

async function bodyOf(body: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

describe('the typed repository client on a real docker-registry', () => {
  let work: string;
  let registry: TestRegistry;
  let layout: SampleLayoutResult;
  let client: RegistryClient;
  let app: RepositoryClient;

  before(async () => {
    work = await makeTempDir('repository-client');
    layout = await writeSampleLayout(join(work, 'layout'), TAGS.map((tag) => ({ tag, layers: [{ size: MiB, seed: `layer-${tag}` }] })));
    registry = await startRegistry({ name: 'repository-client' });
    await pushSampleLayout(layout, { registryHost: registry.host, repository: 'library/app' });
    client = new RegistryClient({ name: 'docker.io', endpoints: [{ url: registry.url }] });
    app = new RepositoryClient(client, 'library/app');
  });
  after(async () => {
    await client?.close();
    await registry?.destroy();
    if (work) await removeTempDir(work);
  });

  const tag = (name: string) => layout.tags.find((t) => t.tag === name)!;

  test('manifest HEAD and GET give the digest, media type and bytes', async () => {
    const head = await app.manifestHead('1.0');
    assert.equal(head.digest, tag('1.0').digest);
    assert.equal(head.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    const manifest = await app.manifest('1.0');
    assert.equal(sha256(manifest.body), tag('1.0').digest);
    assert.equal(manifest.declaredDigest, tag('1.0').digest);
    const gets = await registry.requests({ method: ['GET', 'HEAD'], pathIncludes: '/v2/library/app/manifests/1.0' });
    assert.deepEqual(gets.map((r) => r.method), ['HEAD', 'GET']);
  });

  test('blob HEAD gives the size; GET from an offset asks a Range and the rest arrives', async () => {
    const layer = tag('1.0').manifests[0]!.layers[0]!;
    assert.equal(await app.blobSize(layer.digest), layer.size);
    const whole = await app.blob(layer.digest);
    const bytes = await bodyOf(whole.body);
    assert.equal(whole.start, 0);
    assert.equal(sha256(bytes), layer.digest);
    const rest = await app.blob(layer.digest, { offset: 1000 });
    assert.equal(rest.start, 1000);
    assert.equal(rest.size, layer.size, 'the whole size, from Content-Range');
    assert.deepEqual(await bodyOf(rest.body), bytes.subarray(1000));
  });

  test('the tag list is read page by page, following Link (from a Layover in front, as distribution 2.8 does not page tags)', async () => {
    const front = await startLayover({ upstream: registry.url });
    const chained = new RegistryClient({ name: 'front', endpoints: [{ url: front.url }] });
    try {
      assert.deepEqual((await new RepositoryClient(chained, 'library/app').tags({ pageSize: 2 })).sort(), [...TAGS].sort());
      const pages = front.instance.core.telemetry.recentRequests().filter((r) => r.kind === 'tags');
      assert.equal(pages.length, 3, 'five tags, two per page');
    } finally {
      await chained.close();
      await front.stop();
    }
  });

  test('referrers: a registry without the API (404) is unsupported, so the tag-schema fallback applies', async () => {
    assert.deepEqual(await app.referrers(tag('1.0').digest), { supported: false });
  });

  test('upstream answers become the OCI errors a client sees', async () => {
    const code = async (work: Promise<unknown>) => work.then(() => 'ok', (error: unknown) => (error instanceof OciError ? `${error.status} ${error.code}` : String(error)));
    assert.equal(await code(app.manifestHead('nope')), '404 MANIFEST_UNKNOWN');
    assert.equal(await code(app.blob(`sha256:${'0'.repeat(64)}`)), '404 BLOB_UNKNOWN');
    assert.equal(await code(new RepositoryClient(client, 'library/none').tags()), '404 NAME_UNKNOWN');
  });
});

describe('the typed repository client: token scope and an endpoint prefix', () => {
  test('every request carries repository:<name>:pull, and a prefixed endpoint gets its own name in path and scope', async () => {
    const upstream = await startFaultUpstream({ bearer: {} });
    const plain = new RegistryClient({ name: 'docker.io', endpoints: [{ url: upstream.url }] });
    const prefixed = new RegistryClient({ name: 'docker.io', endpoints: [{ url: upstream.url, repositoryPrefix: 'hub-proxy/' }] });
    try {
      const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: upstream.addBlob(Buffer.from('{}')), size: 2 }, layers: [] };
      const digest = upstream.addManifest('library/app', 'latest', manifest);
      upstream.addManifest('hub-proxy/library/app', 'latest', manifest);
      assert.equal((await new RepositoryClient(plain, 'library/app').manifestHead('latest')).digest, digest);
      assert.equal((await new RepositoryClient(prefixed, 'library/app').manifestHead('latest')).digest, digest);
      assert.deepEqual(upstream.tokenRequests.map((r) => r.scope), ['repository:library/app:pull', 'repository:hub-proxy/library/app:pull']);
      const paths = upstream.requests.filter((r) => r.path.includes('/manifests/latest') && r.authorization).map((r) => r.path);
      assert.deepEqual(paths, ['/v2/library/app/manifests/latest', '/v2/hub-proxy/library/app/manifests/latest']);
    } finally {
      await Promise.all([plain.close(), prefixed.close()]);
      await upstream.stop();
    }
  });
});
