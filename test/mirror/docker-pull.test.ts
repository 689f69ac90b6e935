/**
 * A real Docker Engine pulls through Layover: dockerd started by the test with
 * its own data root and a daemon.json whose registry-mirrors names Layover.
 * Docker sends Hub pulls (library/...) to its mirrors, so the default registry
 * here is a local docker-registry standing in for Docker Hub.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeSampleLayout } from '../../src-main/demo/sample-images.js';
import { startDockerd, type TestDockerd } from '../support/dockerd.js';
import { makeTempDir, removeTempDir, withTimeout } from '../support/process.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { pushSampleLayout } from '../support/skopeo.js';
import { startLayover, type LayoverUnderTest } from '../support/layover.js';

const MiB = 1024 * 1024;

describe('docker pull through Layover', () => {
  let work: string;
  let upstream: TestRegistry;
  let layover: LayoverUnderTest;
  let dockerd: TestDockerd;
  let layerDigests: string[];

  before(async () => {
    work = await makeTempDir('docker-pull');
    const layout = await writeSampleLayout(join(work, 'layout'), [
      { tag: 'latest', layers: [{ size: 3 * MiB, seed: 'docker-base' }, { size: 1 * MiB, seed: 'docker-app', files: 3 }] },
    ]);
    layerDigests = layout.tags[0]!.manifests[0]!.layers.map((layer) => layer.digest);
    upstream = await startRegistry({ name: 'hub-standin' });
    await pushSampleLayout(layout, { registryHost: upstream.host, repository: 'library/sample' });
    layover = await startLayover({ upstream: upstream.url });
    dockerd = await startDockerd({ daemonConfig: { 'registry-mirrors': [layover.url] } });
  });
  after(async () => {
    await dockerd?.stop();
    await layover?.stop();
    await upstream?.destroy();
    if (work) await removeTempDir(work);
  });

  test('the first pull goes through the mirror; after rmi, the second fetches no blob upstream', async () => {
    const info = await dockerd.info();
    assert.deepEqual(info.RegistryConfig?.Mirrors, [`${layover.url}/`]);
    await dockerd.dockerChecked(['pull', 'sample:latest'], { timeoutMs: 120_000 });
    const firstBlobGets = await upstream.count({ method: 'GET', pathIncludes: '/blobs/' });
    assert.ok(firstBlobGets >= layerDigests.length, 'the cold pull fetched the layers upstream');
    // The request log is written when the response closes, which may trail the client by a moment.
    const servedBlobs = () => layover.instance.core.telemetry.recentRequests().filter((r) => r.kind === 'blob' && r.method === 'GET').map((r) => r.reference);
    // Told by the request events; the bound only turns a layer that never came into the assertion's message below.
    await withTimeout(new Promise<void>((resolve) => {
      const telemetry = layover.instance.core.telemetry;
      const check = () => {
        if (!layerDigests.every((d) => servedBlobs().includes(d))) return;
        telemetry.off('request', check);
        resolve();
      };
      telemetry.on('request', check);
      check();
    }), 60_000);
    for (const digest of layerDigests) assert.ok(servedBlobs().includes(digest), `layer ${digest} went through Layover (served: ${servedBlobs().join(', ')})`);

    await dockerd.dockerChecked(['rmi', 'sample:latest']);
    const mark = await upstream.mark();
    await dockerd.dockerChecked(['pull', 'sample:latest'], { timeoutMs: 120_000 });
    assert.equal(await upstream.count({ method: 'GET', pathIncludes: '/blobs/', since: mark }), 0, 'warm pull: no blob from upstream');
    const images = await dockerd.dockerChecked(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.match(images.stdout, /^sample:latest$/m);
  });
});
