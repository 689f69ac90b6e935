/**
 * endpointChoice "fastest": the regional cache (a real docker-registry behind
 * a front that passes bodies at 1 MiB/s, as over this office's link to it) is
 * listed first, the origin (a real docker-registry on loopback) second. Each
 * endpoint is measured by a real transfer, then blobs come from the one that
 * measured faster while it is healthy; "in-order" keeps the cache first.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeSampleLayout, type SampleLayoutResult } from '../../src-main/demo/sample-images.js';
import type { EndpointChoice, EndpointStatus } from '../../src-main/api/types.js';
import { MIN_THROUGHPUT_SAMPLE_BYTES } from '../../src-main/core/upstream/endpoint-health.js';
import { makeTempDir, removeTempDir } from '../support/process.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { pushSampleLayout } from '../support/skopeo.js';
import { get, sha256 } from '../support/http.js';
import { startLayover, type LayoverUnderTest } from '../support/layover.js';
import { startFront, type Front } from './fronts.js';

const MiB = 1024 * 1024;
const TAGS = ['1', '2', '3', '4', '5', '6'];

describe('endpoint choice', () => {
  let work: string;
  let cacheRegistry: TestRegistry;
  let origin: TestRegistry;
  let slowCache: Front;
  let layout: SampleLayoutResult;
  const started: LayoverUnderTest[] = [];

  const layerOf = (tag: string) => layout.tags.find((t) => t.tag === tag)!.manifests[0]!.layers[0]!.digest;
  const startWith = async (endpointChoice: EndpointChoice) => {
    const layover = await startLayover({
      settings: { registries: [{ name: 'docker.io', endpointChoice, endpoints: [{ url: slowCache.url }, { url: origin.url }] }] },
    });
    started.push(layover);
    return layover;
  };
  const fetchLayer = async (layover: LayoverUnderTest, tag: string) => {
    const answer = await get(`${layover.url}/v2/library/app/blobs/${layerOf(tag)}`);
    assert.equal(answer.status, 200);
    assert.equal(sha256(answer.body), layerOf(tag));
  };
  const endpoints = async (layover: LayoverUnderTest): Promise<EndpointStatus[]> => (await layover.instance.api.getStatus()).registries[0]!.endpoints;
  const servedBy = async (tag: string) => ({
    cache: slowCache.count({ method: 'GET', pathIncludes: layerOf(tag) }),
    origin: await origin.count({ method: 'GET', pathIncludes: layerOf(tag) }),
  });

  before(async () => {
    work = await makeTempDir('regional-choice');
    layout = await writeSampleLayout(join(work, 'layout'), TAGS.map((tag) => ({ tag, layers: [{ size: 1 * MiB, seed: `choice-${tag}` }] })));
    assert.ok(MiB >= MIN_THROUGHPUT_SAMPLE_BYTES, 'each layer is large enough to be measured');
    cacheRegistry = await startRegistry({ name: 'regional-cache' });
    origin = await startRegistry({ name: 'origin' });
    await pushSampleLayout(layout, { registryHost: cacheRegistry.host, repository: 'library/app' });
    await pushSampleLayout(layout, { registryHost: origin.host, repository: 'library/app' });
    slowCache = await startFront({ target: cacheRegistry.url, bytesPerSecond: 1 * MiB });
  });
  after(async () => {
    for (const layover of started) await layover.stop();
    await slowCache?.stop();
    await cacheRegistry?.destroy();
    await origin?.destroy();
    if (work) await removeTempDir(work);
  });

  test('fastest: each endpoint is measured once by a real transfer, then the faster one serves; the figures are in Status', async () => {
    const layover = await startWith('fastest');
    assert.deepEqual((await endpoints(layover)).map((e) => e.throughputBytesPerSecond), [undefined, undefined]);
    await fetchLayer(layover, '1');
    assert.deepEqual(await servedBy('1'), { cache: 1, origin: 0 }, 'nothing measured: configured order');
    await fetchLayer(layover, '2');
    assert.deepEqual(await servedBy('2'), { cache: 0, origin: 1 }, 'the origin, not measured yet, is measured next');
    const measured = await endpoints(layover);
    assert.deepEqual(measured.map((e) => typeof e.throughputBytesPerSecond), ['number', 'number']);
    assert.equal((await layover.instance.api.getStatus()).registries[0]!.endpointChoice, 'fastest');
    for (const tag of ['3', '4']) {
      await fetchLayer(layover, tag);
      assert.deepEqual(await servedBy(tag), { cache: 0, origin: 1 }, `layer ${tag} from the faster endpoint`);
    }
    // The faster endpoint stops: the cache serves, as any healthy endpoint would.
    await origin.stop();
    try {
      await fetchLayer(layover, '5');
      assert.deepEqual({ cache: slowCache.count({ method: 'GET', pathIncludes: layerOf('5') }) }, { cache: 1 });
    } finally {
      await origin.start();
    }
  });

  test('in-order: the regional cache serves first whatever its speed', async () => {
    const layover = await startWith('in-order');
    const before = await servedBy('6');
    await fetchLayer(layover, '1');
    await fetchLayer(layover, '6');
    const after = await servedBy('6');
    assert.deepEqual({ cache: after.cache - before.cache, origin: after.origin - before.origin }, { cache: 1, origin: 0 });
  });
});
