/**
 * The hosts.toml files `layover runtimes containerd` writes, used by the real
 * containerd through `ctr --hosts-dir`: containerd sends mirror requests with
 * ?ns=<registry>, and the DTR-named image whose host does not resolve arrives
 * through `layover serve`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '../support/process.js';
import {
  explain, layover, registryWithImages, serveLayover, startContainerd, UNRESOLVABLE_REGISTRY,
  type SeededRegistry, type ServedLayover, type TestContainerd,
} from './support.js';

describe('layover runtimes containerd with the real containerd', () => {
  let work: string;
  let hub: SeededRegistry;
  let dtr: SeededRegistry;
  let mirror: ServedLayover;
  let containerd: TestContainerd;

  before(async () => {
    work = await makeTempDir('runtimes-containerd');
    hub = await registryWithImages('hub-standin', [{ repository: 'library/hello', tag: '1' }]);
    dtr = await registryWithImages('dtr-standin', [{ repository: 'eng/app', tag: '7' }]);
    mirror = await serveLayover({ upstream: hub.registry.url, registries: [`${UNRESOLVABLE_REGISTRY}=${dtr.registry.url}`] });
    containerd = await startContainerd();
  });
  after(async () => {
    await containerd?.stop();
    await mirror?.stop();
    await dtr?.registry.destroy();
    await hub?.registry.destroy();
    if (work) await removeTempDir(work);
  });

  test('ctr --hosts-dir pulls a DTR-named image and a Docker Hub image through the mirror', async () => {
    const hostsDir = join(work, 'certs.d');
    const written = await layover(['runtimes', 'containerd', '--mirror', mirror.host, '--registry', UNRESOLVABLE_REGISTRY, '--registry', 'docker.io', '--out', hostsDir]);
    assert.equal(written.code, 0, explain(written));
    assert.match(written.stdout, new RegExp(`^Wrote ${join(hostsDir, UNRESOLVABLE_REGISTRY, 'hosts.toml')}$`, 'm'));

    const mark = await dtr.registry.mark();
    const dtrImage = `${UNRESOLVABLE_REGISTRY}/eng/app:7`;
    const pulled = await containerd.ctr(['images', 'pull', '--hosts-dir', hostsDir, '--snapshotter', 'native', dtrImage]);
    assert.equal(pulled.code, 0, explain(pulled));
    const listed = await containerd.ctr(['images', 'ls', '--quiet']);
    assert.match(listed.stdout, new RegExp(`^${dtrImage.replaceAll('.', '\\.')}$`, 'm'));
    const images = await containerd.ctr(['images', 'ls']);
    assert.match(images.stdout, new RegExp(dtr.digests.get('eng/app:7')!));
    assert.ok(await dtr.registry.count({ pathIncludes: '/v2/eng/app/manifests/', since: mark }) >= 1, 'Layover fetched it from the DTR stand-in');

    const hub1 = await containerd.ctr(['images', 'pull', '--hosts-dir', hostsDir, '--snapshotter', 'native', 'docker.io/library/hello:1']);
    assert.equal(hub1.code, 0, explain(hub1));
  });
});
