/**
 * A Harbor / MSR 4 proxy project as the first endpoint: a real docker-registry
 * holds the origin's images under `hub-proxy/…` (as a proxy project serves
 * them) behind the test's token issuer, which grants only `hub-proxy/…`; a
 * second docker-registry is the origin. Clients pull by the origin's names;
 * Layover asks the cache under the prefix (paths and token scopes) and the
 * origin without it, and fails over both ways when either one stops.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeSampleLayout, type SampleLayoutResult } from '../../src-main/demo/sample-images.js';
import { applyFlags } from '../../src-main/cli/serve-command.js';
import { defaultSettings } from '../../src-main/app/settings.js';
import { testConnection } from '../../src-main/app/api-service.js';
import { makeTempDir, removeTempDir } from '../support/process.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { startTokenIssuer, type TestTokenIssuer } from '../support/token-issuer.js';
import { pushLayoutTag, pushSampleLayout, skopeoPull } from '../support/skopeo.js';
import { get, getJson } from '../support/http.js';
import { startLayover, startLayoverProcess, type LayoverUnderTest } from '../support/layover.js';

const KiB = 1024;
const pusher = { username: 'pusher', password: 'push-secret' };
const proxyReader = { username: 'layover-fra', password: 'fra-secret' };

describe('an endpoint with a repository prefix (Harbor / MSR 4 proxy project)', () => {
  let work: string;
  let issuer: TestTokenIssuer;
  let cache: TestRegistry;
  let origin: TestRegistry;
  let layover: LayoverUnderTest;
  let layout: SampleLayoutResult;
  const digestOf = (tag: string) => layout.tags.find((t) => t.tag === tag)!.digest;
  const layersOf = (tag: string) => layout.tags.find((t) => t.tag === tag)!.manifests[0]!.layers.map((layer) => layer.digest);

  before(async () => {
    work = await makeTempDir('regional-prefix');
    layout = await writeSampleLayout(join(work, 'layout'), ['1.0', '2.0', '3.0', '4.0'].map((tag) => ({
      tag, layers: [{ size: 300 * KiB, seed: `layer-${tag}` }],
    })));
    issuer = await startTokenIssuer({
      users: {
        [pusher.username]: { password: pusher.password, grants: { '*': ['pull', 'push'] } },
        // The proxy project's robot account: it may read the project, nothing else.
        [proxyReader.username]: { password: proxyReader.password, grants: { 'hub-proxy/library/app': ['pull'], 'hub-proxy/library/alpine': ['pull'] } },
      },
    });
    cache = await startRegistry({
      name: 'harbor-fra',
      tokenAuth: { realm: issuer.realm, service: issuer.service, issuer: issuer.issuer, rootCertBundle: issuer.rootCertBundle },
    });
    origin = await startRegistry({ name: 'origin' });
    await pushSampleLayout(layout, { registryHost: origin.host, repository: 'library/app' });
    await pushSampleLayout(layout, { registryHost: cache.host, repository: 'hub-proxy/library/app', creds: pusher });
    // The connection test's known repository, as the proxy project would serve it.
    await pushLayoutTag({ layoutDir: layout.dir!, tag: '1.0', destinationTag: 'latest', registryHost: cache.host, repository: 'hub-proxy/library/alpine', creds: pusher });
    const base = defaultSettings();
    layover = await startLayover({
      settings: {
        tagFreshnessSeconds: 0,
        registries: [{
          name: 'docker.io',
          endpoints: [
            { url: cache.url, repositoryPrefix: 'hub-proxy/', username: proxyReader.username, password: proxyReader.password },
            { url: origin.url },
          ],
        }],
        defaultRegistry: base.defaultRegistry,
      },
    });
  });
  after(async () => {
    await layover?.stop();
    await cache?.destroy();
    await origin?.destroy();
    await issuer?.stop();
    if (work) await removeTempDir(work);
  });

  test('a pull by the origin\'s name is served by the cache under the prefix, with tokens scoped to the prefixed name', async () => {
    const cacheMark = await cache.mark();
    const originMark = await origin.mark();
    const pulled = await skopeoPull({ reference: `${layover.host}/library/app:1.0` });
    assert.equal(pulled.digest, digestOf('1.0'));
    assert.equal(await cache.count({ method: 'GET', pathIncludes: '/v2/hub-proxy/library/app/manifests/1.0', status: 200, since: cacheMark }), 1);
    for (const layer of layersOf('1.0')) {
      assert.equal(await cache.count({ method: 'GET', pathIncludes: `/v2/hub-proxy/library/app/blobs/${layer}`, status: 200, since: cacheMark }), 1, `layer ${layer} from the cache`);
    }
    assert.equal(await cache.count({ pathMatches: /^\/v2\/library\//, since: cacheMark }), 0, 'the cache is never asked by the origin\'s name');
    assert.equal(await origin.count({ pathIncludes: '/v2/library/app/', since: originMark }), 0, 'the origin is not asked while the cache serves');
    const scopes = issuer.issued({ user: proxyReader.username }).flatMap((token) => token.scopes);
    assert.ok(scopes.length > 0);
    assert.deepEqual([...new Set(scopes)], ['repository:hub-proxy/library/app:pull']);
  });

  test('the tag list is asked under the prefix, and answers by the origin\'s name', async () => {
    const cacheMark = await cache.mark();
    const list = await getJson<{ name: string; tags: string[] }>(`${layover.url}/v2/library/app/tags/list`);
    assert.equal(list.status, 200);
    assert.equal(list.json.name, 'library/app');
    assert.deepEqual([...list.json.tags].sort(), ['1.0', '2.0', '3.0', '4.0']);
    assert.equal(await cache.count({ method: 'GET', pathIncludes: '/v2/hub-proxy/library/app/tags/list', status: 200, since: cacheMark }), 1);
  });

  test('the referrers API is asked under the prefix too', async () => {
    const cacheMark = await cache.mark();
    const subject = digestOf('1.0');
    const answer = await get(`${layover.url}/v2/library/app/referrers/${subject}`);
    assert.equal(answer.status, 200);
    assert.equal(await cache.count({ method: 'GET', pathIncludes: `/v2/hub-proxy/library/app/referrers/${subject}`, since: cacheMark }), 1);
    assert.equal(await cache.count({ pathMatches: /^\/v2\/library\//, since: cacheMark }), 0);
  });

  test('Status names the prefix of the first endpoint and none for the origin', async () => {
    const status = await layover.instance.api.getStatus();
    const hub = status.registries.find((registry) => registry.name === 'docker.io')!;
    assert.deepEqual(hub.endpoints.map((endpoint) => endpoint.repositoryPrefix), ['hub-proxy/', undefined]);
  });

  test('the prefixed cache stops: the pull fails over to the origin by the origin\'s name; the origin stops: back to the cache', async () => {
    await cache.stop();
    const originMark = await origin.mark();
    const fromOrigin = await skopeoPull({ reference: `${layover.host}/library/app:2.0` });
    assert.equal(fromOrigin.digest, digestOf('2.0'));
    assert.equal(await origin.count({ method: 'GET', pathIncludes: '/v2/library/app/manifests/2.0', status: 200, since: originMark }), 1);
    for (const layer of layersOf('2.0')) {
      assert.equal(await origin.count({ method: 'GET', pathIncludes: `/v2/library/app/blobs/${layer}`, status: 200, since: originMark }), 1);
    }
    assert.equal(await origin.count({ pathIncludes: 'hub-proxy', since: originMark }), 0, 'the prefix never reaches the origin');
    const during = (await layover.instance.api.getStatus()).registries.find((r) => r.name === 'docker.io')!;
    assert.notEqual(during.endpoints[0]!.health, 'healthy', 'the stopped cache is not reported healthy');

    await cache.start();
    await origin.stop();
    const cacheMark = await cache.mark();
    const fromCache = await skopeoPull({ reference: `${layover.host}/library/app:3.0` });
    assert.equal(fromCache.digest, digestOf('3.0'));
    assert.equal(await cache.count({ method: 'GET', pathIncludes: '/v2/hub-proxy/library/app/manifests/3.0', status: 200, since: cacheMark }), 1);
    for (const layer of layersOf('3.0')) {
      assert.equal(await cache.count({ method: 'GET', pathIncludes: `/v2/hub-proxy/library/app/blobs/${layer}`, status: 200, since: cacheMark }), 1);
    }

    // Both up again: the cache answers first once more, as configured.
    await origin.start();
    const originBack = await origin.mark();
    const again = await skopeoPull({ reference: `${layover.host}/library/app:4.0` });
    assert.equal(again.digest, digestOf('4.0'));
    assert.equal(await cache.count({ method: 'GET', pathIncludes: '/v2/hub-proxy/library/app/manifests/4.0', status: 200, since: cacheMark }), 1);
    assert.equal(await origin.count({ pathIncludes: '/v2/library/app/', since: originBack }), 0);
  });

  test('the connection test checks a known repository through the prefix, and names a wrong project', async () => {
    const endpoint = { url: cache.url, username: proxyReader.username, password: proxyReader.password };
    const good = await testConnection({ ...endpoint, repositoryPrefix: 'hub-proxy/' });
    assert.equal(good.ok, true, good.error);
    assert.deepEqual({ repository: good.repositoryCheck?.repository, status: good.repositoryCheck?.status }, { repository: 'hub-proxy/library/alpine', status: 200 });
    const wrong = await testConnection({ ...endpoint, repositoryPrefix: 'dockerhub-proxy/' });
    assert.equal(wrong.ok, false);
    assert.equal(wrong.repositoryCheck?.repository, 'dockerhub-proxy/library/alpine');
    assert.match(wrong.error ?? '', /check the project name|refused/);
    const plain = await testConnection({ url: origin.url });
    assert.deepEqual({ ok: plain.ok, check: plain.repositoryCheck }, { ok: true, check: undefined });
  });
});

describe('--registry NAME=URL/prefix/,URL', () => {
  const flags = (spec: string) => applyFlags(defaultSettings(), { registry: [spec] });

  test('a path after the host becomes that endpoint\'s prefix, the other endpoint keeps none', () => {
    const settings = flags('docker.io=https://msr-fra.example.com/hub-proxy/,https://registry-1.docker.io');
    const hub = settings.registries.find((registry) => registry.name === 'docker.io')!;
    assert.deepEqual(hub.endpoints, [
      { url: 'https://msr-fra.example.com', repositoryPrefix: 'hub-proxy/' },
      { url: 'https://registry-1.docker.io' },
    ]);
    const nested = flags('dtr.example.com=https://harbor.example.com:8443/mirrors/dtr,https://dtr.example.com');
    assert.deepEqual(nested.registries.find((r) => r.name === 'dtr.example.com')!.endpoints[0], { url: 'https://harbor.example.com:8443', repositoryPrefix: 'mirrors/dtr/' });
  });

  test('--upstream takes a prefix the same way', () => {
    const settings = applyFlags(defaultSettings(), { registry: [], upstream: 'https://harbor.example.com/hub-proxy/' });
    assert.deepEqual(settings.registries.find((r) => r.name === 'docker.io')!.endpoints, [{ url: 'https://harbor.example.com', repositoryPrefix: 'hub-proxy/' }]);
  });

  test('a prefix that is not a repository path is one clear error', () => {
    assert.throws(() => flags('docker.io=https://msr.example.com/Hub_Proxy/'), /--registry docker\.io: repository prefix "\/Hub_Proxy\/" is not a repository path/);
  });
});

describe('layover serve --registry NAME=URL/prefix/,URL (the real command line; run `npm run build` first)', () => {
  test('the built CLI asks the first endpoint under its prefix and the origin by its own name', async () => {
    const work = await makeTempDir('regional-prefix-cli');
    let cache: TestRegistry | undefined;
    let origin: TestRegistry | undefined;
    let served: Awaited<ReturnType<typeof startLayoverProcess>> | undefined;
    try {
      const layout = await writeSampleLayout(join(work, 'layout'), [{ tag: '1.0', layers: [{ size: 64 * KiB, seed: 'cli-prefix' }] }]);
      cache = await startRegistry({ name: 'harbor-cli' });
      origin = await startRegistry({ name: 'origin-cli' });
      await pushSampleLayout(layout, { registryHost: cache.host, repository: 'hub-proxy/library/app' });
      await pushSampleLayout(layout, { registryHost: origin.host, repository: 'library/app' });
      served = await startLayoverProcess({ dataDir: join(work, 'data'), upstream: origin.url, registries: [`docker.io=${cache.url}/hub-proxy/,${origin.url}`] });
      const originMark = await origin.mark();
      const pulled = await skopeoPull({ reference: `${served.host}/library/app:1.0` });
      assert.equal(pulled.digest, layout.tags[0]!.digest);
      assert.equal(await cache.count({ method: 'GET', pathIncludes: '/v2/hub-proxy/library/app/manifests/1.0', status: 200 }), 1);
      assert.equal(await origin.count({ since: originMark, pathIncludes: '/v2/library/app/' }), 0);

      await cache.stop();
      const manifest = await get(`${served.url}/v2/library/app/manifests/${layout.tags[0]!.digest}`, { accept: 'application/vnd.oci.image.manifest.v1+json' });
      assert.equal(manifest.status, 200, 'a digest already cached needs nobody');
      const tags = await getJson<{ tags: string[] }>(`${served.url}/v2/library/app/tags/list`);
      assert.deepEqual(tags.json.tags, ['1.0']);
      assert.equal(await origin.count({ since: originMark, method: 'GET', pathIncludes: '/v2/library/app/tags/list', status: 200 }), 1, 'the cache down: the origin, by its own name');
    } finally {
      await served?.process.stop();
      await cache?.destroy();
      await origin?.destroy();
      await removeTempDir(work);
    }
  });
});
