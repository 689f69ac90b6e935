/**
 * Layover in front of Debian's docker-registry (CNCF distribution 2.8), pulled
 * through with skopeo: cache hits, single flight, offline tags, auth by path
 * prefix and by ?ns=, pagination.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSampleLayout, type SampleLayoutResult } from '../../src-main/demo/sample-images.js';
import { makeTempDir, removeTempDir } from '../support/process.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { pushSampleLayout, skopeoPull } from '../support/skopeo.js';
import { get, getJson, sha256 } from '../support/http.js';
import { startLayover, type LayoverUnderTest } from '../support/layover.js';

const MiB = 1024 * 1024;

describe('through a real docker-registry', () => {
  let work: string;
  let upstream: TestRegistry;
  let layover: LayoverUnderTest;
  let layout: SampleLayoutResult;

  before(async () => {
    work = await makeTempDir('real-registry');
    layout = await writeSampleLayout(join(work, 'layout'), [
      { tag: '1.0', layers: [{ size: 2 * MiB, seed: 'base' }, { size: 1 * MiB, seed: 'app-1.0' }] },
      { tag: '1.1', layers: [{ size: 2 * MiB, seed: 'base' }, { size: 1 * MiB, seed: 'app-1.1' }] },
      { tag: 'big', layers: [{ size: 48 * MiB, seed: 'big' }] },
    ]);
    upstream = await startRegistry({ name: 'upstream' });
    await pushSampleLayout(layout, { registryHost: upstream.host, repository: 'library/app' });
    await pushSampleLayout(layout, { registryHost: upstream.host, repository: 'team/other' });
    layover = await startLayover({ upstream: upstream.url, settings: { tagFreshnessSeconds: 0 } });
  });
  after(async () => {
    await layover?.stop();
    await upstream?.destroy();
    if (work) await removeTempDir(work);
  });

  const tagOf = (tag: string) => layout.tags.find((t) => t.tag === tag)!;

  test('a second pull is served from the cache with no blob fetched upstream', async () => {
    const first = await skopeoPull({ reference: `${layover.host}/library/app:1.0` });
    assert.equal(first.digest, tagOf('1.0').digest);
    const mark = await upstream.mark();
    const second = await skopeoPull({ reference: `${layover.host}/library/app:1.0` });
    assert.equal(second.digest, tagOf('1.0').digest);
    const blobGets = await upstream.count({ method: 'GET', pathIncludes: '/blobs/', since: mark });
    assert.equal(blobGets, 0, 'no blob fetched upstream on the warm pull');
    for (const layer of tagOf('1.0').manifests[0]!.layers) {
      const bytes = await readFile(join(second.dir, layer.digest.split(':')[1]!));
      assert.equal(sha256(bytes), layer.digest);
    }
    const counters = (await layover.instance.api.getStatus()).counters;
    assert.ok(counters.hits > 0 && counters.bytesServedFromCache > 0);
  });

  test('a shared base layer is fetched once for two tags', async () => {
    const mark = await upstream.mark();
    await skopeoPull({ reference: `${layover.host}/library/app:1.1` });
    const base = tagOf('1.1').manifests[0]!.layers[0]!.digest;
    assert.equal(await upstream.count({ method: 'GET', pathIncludes: base, since: mark }), 0, 'base layer came from the cache');
  });

  test('eight concurrent cold clients on one large blob: one upstream GET, every byte right', async () => {
    const layer = tagOf('big').manifests[0]!.layers[0]!;
    const url = `${layover.url}/v2/library/app/blobs/${layer.digest}`;
    const results = await Promise.all(Array.from({ length: 8 }, () => get(url)));
    for (const result of results) {
      assert.equal(result.bodyError, undefined);
      assert.equal(sha256(result.body), layer.digest);
    }
    assert.equal(await upstream.count({ method: 'GET', pathIncludes: layer.digest }), 1);
  });

  test('an expired tag is revalidated with a HEAD, not a GET; a digest is never asked again', async () => {
    const url = `${layover.url}/v2/library/app/manifests/1.0`;
    await get(url);
    const mark = await upstream.mark();
    const again = await get(url);
    assert.equal(again.headers['x-layover-cache'], 'revalidated');
    assert.equal(await upstream.count({ method: 'HEAD', pathIncludes: '/manifests/1.0', since: mark }), 1);
    assert.equal(await upstream.count({ method: 'GET', pathIncludes: '/manifests/', since: mark }), 0);
    const byDigest = await get(`${layover.url}/v2/library/app/manifests/${tagOf('1.0').digest}`);
    assert.equal(byDigest.headers['x-layover-cache'], 'hit');
    assert.equal(await upstream.count({ pathIncludes: `/manifests/${tagOf('1.0').digest}`, since: mark }), 0);
  });

  test('tags/list paginates with n/last and Link, and _catalog lists what is cached', async () => {
    const page1 = await getJson<{ name: string; tags: string[] }>(`${layover.url}/v2/library/app/tags/list?n=2`);
    assert.deepEqual(page1.json, { name: 'library/app', tags: ['1.0', '1.1'] });
    assert.equal(page1.headers.link, '</v2/library/app/tags/list?n=2&last=1.1>; rel="next"');
    const page2 = await getJson<{ tags: string[] }>(`${layover.url}/v2/library/app/tags/list?n=2&last=1.1`);
    assert.deepEqual(page2.json.tags, ['big']);
    assert.equal(page2.headers.link, undefined);
    const catalog = await getJson<{ repositories: string[] }>(`${layover.url}/v2/_catalog`);
    assert.ok(catalog.json.repositories.includes('library/app'));
    const bad = await getJson<{ errors: Array<{ code: string }> }>(`${layover.url}/v2/library/app/tags/list?n=x`);
    assert.equal(bad.json.errors[0]?.code, 'PAGINATION_NUMBER_INVALID');
  });

  test('manifests carry the spec headers and honour Accept', async () => {
    const head = await get(`${layover.url}/v2/library/app/manifests/1.0`, { accept: 'application/vnd.oci.image.manifest.v1+json' }, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['docker-content-digest'], tagOf('1.0').digest);
    assert.equal(head.headers['content-type'], 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(head.headers['content-length'], String(tagOf('1.0').size));
    assert.equal(head.headers.etag, `"${tagOf('1.0').digest}"`);
    assert.equal(head.headers['docker-distribution-api-version'], 'registry/2.0');
    const refused = await get(`${layover.url}/v2/library/app/manifests/1.0`, { accept: 'application/vnd.docker.distribution.manifest.v2+json' });
    assert.equal(refused.status, 404);
    const notModified = await get(`${layover.url}/v2/library/app/manifests/1.0`, { 'if-none-match': `"${tagOf('1.0').digest}"` });
    assert.equal(notModified.status, 304);
  });

  test('with the upstream stopped, cached tags still pull (stale) and uncached ones fail fast with an OCI error', async () => {
    await skopeoPull({ reference: `${layover.host}/team/other:1.0` });
    await upstream.stop();
    try {
      const stale = await skopeoPull({ reference: `${layover.host}/team/other:1.0` });
      assert.equal(stale.digest, tagOf('1.0').digest);
      const manifest = await get(`${layover.url}/v2/team/other/manifests/1.0`);
      assert.equal(manifest.headers['x-layover-cache'], 'stale');
      assert.match(String(manifest.headers.warning), /^110 /);
      const missing = await getJson<{ errors: Array<{ code: string; message: string }> }>(`${layover.url}/v2/team/other/manifests/1.1`);
      assert.equal(missing.status, 503);
      assert.equal(missing.json.errors[0]?.code, 'UNAVAILABLE');
      // Fast, told by its cause rather than a stopwatch: the refused connection answers, not a timeout waited out.
      assert.match(missing.json.errors[0]?.message ?? '', /ECONNREFUSED/);
      assert.doesNotMatch(missing.json.errors[0]?.message ?? '', /time(d)? ?out/i);
      const tags = await getJson<{ tags: string[] }>(`${layover.url}/v2/library/app/tags/list`);
      assert.deepEqual(tags.json.tags, ['1.0', '1.1', 'big'], 'tags/list answers from the cache offline');
      assert.equal((await layover.instance.api.getStatus()).state, 'offline');
    } finally {
      await upstream.start();
    }
  });
});

describe('a registry behind htpasswd', () => {
  test("is reached by path prefix and by ?ns=, with credentials from Docker's config.json", async () => {
    const work = await makeTempDir('htpasswd');
    const auth = { username: 'alice', password: 'wonderland' };
    const secured = await startRegistry({ name: 'secured', auth });
    const layout = await writeSampleLayout(join(work, 'layout'), [{ tag: 'v7', layers: [{ size: 512 * 1024, seed: 'dtr-app' }] }]);
    await pushSampleLayout(layout, { registryHost: secured.host, repository: 'eng/app', creds: auth });
    const dockerConfig = join(work, 'docker-config');
    await import('node:fs/promises').then((fs) => fs.mkdir(dockerConfig, { recursive: true }).then(() =>
      fs.writeFile(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [secured.host]: { auth: Buffer.from('alice:wonderland').toString('base64') } } }))));
    const previous = process.env.DOCKER_CONFIG;
    process.env.DOCKER_CONFIG = dockerConfig;
    const layover = await startLayover({ upstream: 'http://127.0.0.1:1', registries: [`dtr.example.com=${secured.url}`] });
    try {
      const byPrefix = await skopeoPull({ reference: `${layover.host}/dtr.example.com/eng/app:v7` });
      assert.equal(byPrefix.digest, layout.tags[0]!.digest);
      const byNs = await get(`${layover.url}/v2/eng/app/manifests/v7?ns=dtr.example.com`);
      assert.equal(byNs.status, 200);
      assert.equal(byNs.headers['docker-content-digest'], layout.tags[0]!.digest);
      const unknownNs = await getJson<{ errors: Array<{ code: string }> }>(`${layover.url}/v2/eng/app/manifests/v7?ns=ghcr.io`);
      assert.equal(unknownNs.json.errors[0]?.code, 'NAME_UNKNOWN');
    } finally {
      if (previous === undefined) delete process.env.DOCKER_CONFIG;
      else process.env.DOCKER_CONFIG = previous;
      await layover.stop();
      await secured.destroy();
      await removeTempDir(work);
    }
  });

  test('without credentials the client gets UNAUTHORIZED', async () => {
    const secured = await startRegistry({ name: 'secured2', auth: { username: 'bob', password: 'builder' } });
    const layover = await startLayover({ upstream: 'http://127.0.0.1:1', registries: [`dtr.example.com=${secured.url}`] });
    try {
      const response = await getJson<{ errors: Array<{ code: string }> }>(`${layover.url}/v2/dtr.example.com/eng/app/manifests/v7`);
      assert.equal(response.status, 401);
      assert.equal(response.json.errors[0]?.code, 'UNAUTHORIZED');
    } finally {
      await layover.stop();
      await secured.destroy();
    }
  });
});
