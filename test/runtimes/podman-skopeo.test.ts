/**
 * The registries.conf drop-in `layover runtimes podman` writes, used by the
 * real skopeo (the same containers/image library as Podman and CRI-O): a
 * DTR-named image whose host does not resolve arrives through `layover serve`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeTempDir, runCommand } from '../support/process.js';
import { explain, layover, registryWithImages, serveLayover, UNRESOLVABLE_REGISTRY, type SeededRegistry, type ServedLayover } from './support.js';

describe('layover runtimes podman with the real skopeo', () => {
  let work: string;
  let hub: SeededRegistry;
  let dtr: SeededRegistry;
  let mirror: ServedLayover;

  before(async () => {
    work = await makeTempDir('runtimes-podman');
    hub = await registryWithImages('hub-standin', [{ repository: 'library/hello', tag: '1' }]);
    dtr = await registryWithImages('dtr-standin', [{ repository: 'eng/app', tag: '7' }]);
    mirror = await serveLayover({ upstream: hub.registry.url, registries: [`${UNRESOLVABLE_REGISTRY}=${dtr.registry.url}`] });
  });
  after(async () => {
    await mirror?.stop();
    await dtr?.registry.destroy();
    await hub?.registry.destroy();
    if (work) await removeTempDir(work);
  });

  /** skopeo copy with only the generated file as registries.conf; the digest comes from skopeo itself. */
  async function copyThrough(registriesConf: string, reference: string) {
    const digestFile = join(work, 'digest');
    const result = await runCommand('/usr/bin/skopeo', [
      '--registries-conf', registriesConf, '--insecure-policy', '--tmpdir', work,
      'copy', '--retry-times', '0', '--digestfile', digestFile, `docker://${reference}`, `dir:${join(work, 'copy')}`,
    ], { timeoutMs: 120_000 });
    assert.equal(result.code, 0, explain(result));
    return (await readFile(digestFile, 'utf8')).trim();
  }

  test('skopeo reaches a DTR-named image and a Docker Hub image through the mirror', async () => {
    const conf = join(work, 'registries.conf');
    const written = await layover(['runtimes', 'podman', '--mirror', mirror.host, '--registry', UNRESOLVABLE_REGISTRY, '--registry', 'docker.io', '--out', conf]);
    assert.equal(written.code, 0, explain(written));
    assert.match(written.stdout, new RegExp(`^Wrote ${conf}$`, 'm'));

    const mark = await dtr.registry.mark();
    assert.equal(await copyThrough(conf, `${UNRESOLVABLE_REGISTRY}/eng/app:7`), dtr.digests.get('eng/app:7'));
    assert.ok(await dtr.registry.count({ pathIncludes: '/v2/eng/app/manifests/7', since: mark }) >= 1, 'Layover fetched it from the DTR stand-in');

    assert.equal(await copyThrough(conf, 'docker.io/library/hello:1'), hub.digests.get('library/hello:1'));
  });

  test('without --out the file goes to stdout, headed by where it belongs, and the explanation to stderr', async () => {
    const printed = await layover(['runtimes', 'podman', '--mirror', mirror.host, '--registry', UNRESOLVABLE_REGISTRY]);
    assert.equal(printed.code, 0, explain(printed));
    assert.match(printed.stdout, /^# \/etc\/containers\/registries\.conf\.d\/50-layover\.conf\n/);
    assert.match(printed.stdout, new RegExp(`location = "${mirror.host}/${UNRESOLVABLE_REGISTRY}"`));
    assert.match(printed.stderr, /registries\.conf\.d/);
  });

  test('plain HTTP to a mirror across the network is refused in one line', async () => {
    const refused = await layover(['runtimes', 'podman', '--mirror', 'http://layover.office.example:5050']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^layover: http:\/\/layover\.office\.example:5050 is plain HTTP on the network: .*\n$/);
  });
});
