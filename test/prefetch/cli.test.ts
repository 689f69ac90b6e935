/**
 * The command-line contract of issue 4, run as real processes against a real
 * `layover serve` (with prefetch) and a real docker-registry:
 *   layover prefetch REPO [--tags SELECTOR] [--platform os/arch|all] [--admin URL]
 *   layover sync
 *   layover gc
 * Success exits 0; failure exits non-zero with one line `layover: <reason>`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { adminClient } from '../support/layover.js';
import { LAYOVER_METHODS, type LayoverMethod } from '../../src-main/api/layover-api.js';
import { writeSampleLayout } from '../../src-main/demo/sample-images.js';
import { freePort } from '../support/ports.js';
import { makeTempDir, removeTempDir, runCommand } from '../support/process.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { pushSampleLayout } from '../support/skopeo.js';
import { layoverCommand, startServe, type ServeProcess } from './support/serve.js';

const KiB = 1024;
const CLI = layoverCommand();

describe('layover prefetch, sync and gc', () => {
  let work: string;
  let xdgDataHome: string;
  let upstream: TestRegistry;
  let serve: ServeProcess;

  before(async () => {
    work = await makeTempDir('prefetch-cli');
    xdgDataHome = join(work, 'xdg');
    const layout = await writeSampleLayout(join(work, 'layout'), [
      { tag: '1.0', layers: [{ size: 128 * KiB, seed: 'cli-1.0' }] },
      { tag: '1.1', layers: [{ size: 128 * KiB, seed: 'cli-1.1' }] },
    ]);
    upstream = await startRegistry({ name: 'cli-upstream' });
    await pushSampleLayout(layout, { registryHost: upstream.host, repository: 'library/app' });
    // The instance announces itself in its data dir, which is the default one for this XDG_DATA_HOME.
    serve = await startServe(join(xdgDataHome, 'layover'), upstream.url);
  });
  after(async () => {
    await serve?.process.stop();
    await upstream?.destroy();
    if (work) await removeTempDir(work);
  });

  const layover = (args: string[], xdg = xdgDataHome) =>
    runCommand(process.execPath, [...CLI, ...args], { env: { ...process.env, XDG_DATA_HOME: xdg }, timeoutMs: 60_000 });

  test('prefetch finds the running instance, prints plain progress lines off a terminal, and exits 0 when done', async () => {
    const result = await layover(['prefetch', 'library/app', '--tags', '1.*']);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.ok(lines.some((line) => /^library\/app( 1\.0, 1\.1)?: (queued|planning|running)/.test(line)), result.stdout);
    assert.match(lines.at(-1)!, /^layover: library\/app 1\.0, 1\.1: \d+(\.\d)? KiB in 4 blobs are in the cache$/);
    assert.equal(result.stderr, '');
  });

  test('on a terminal, a progress bar', async () => {
    // util-linux script(1) gives the command a pseudo-terminal, as a person's shell would.
    const command = [process.execPath, ...CLI, 'prefetch', 'library/app', '--tags', '1.1', '--admin', serve.adminUrl].join(' ');
    const result = await runCommand('script', ['-qec', command, '/dev/null'], { env: { ...process.env, XDG_DATA_HOME: xdgDataHome }, timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /library\/app 1\.1 [\u2588\u2591]{30} 100% \| .* of .* \| 2\/2 blobs/, 'a bar that reached 100%');
    assert.match(result.stdout, /layover: library\/app 1\.1: .* in 2 blobs are in the cache/);
  });

  test('REPO:TAG, --platform and --admin', async () => {
    const result = await layover(['prefetch', 'app:1.0', '--platform', 'linux/amd64,linux/arm64', '--admin', serve.adminUrl], join(work, 'nowhere'));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /layover: library\/app 1\.0: .* are in the cache/);
  });

  test('failures exit non-zero with one line a person can act on', async () => {
    const noMatch = await layover(['prefetch', 'library/app', '--tags', 'semver:^9']);
    assert.notEqual(noMatch.code, 0);
    assert.equal(noMatch.stderr.trim(), 'layover: prefetch of library/app failed: no tag of library/app matches semver ^9; it has 1.0, 1.1');

    const missing = await layover(['prefetch', 'library/app', '--tags', '7.7']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr.trim(), /^layover: prefetch of library\/app 7\.7 failed: manifest library\/app:7\.7 not found on upstream 127\.0\.0\.1:\d+$/);

    const badPlatform = await layover(['prefetch', 'library/app', '--platform', 'arm64']);
    assert.equal(badPlatform.stderr.trim(), 'layover: cannot read the platform "arm64": write os/arch or os/arch/variant (e.g. linux/arm64), several separated by commas, or all');
    const badSelector = await layover(['prefetch', 'library/app', '--tags', 'newest:many']);
    assert.equal(badSelector.stderr.trim(), 'layover: cannot use the tag selector "newest:many": newest needs a whole number of tags, at least 1');

    const nothingRunning = await layover(['prefetch', 'library/app'], join(work, 'empty'));
    assert.match(nothingRunning.stderr.trim(), /^layover: no running Layover found \(looked in .*empty\/layover\): start it with `layover serve`, or pass --admin URL$/);
    const unreachable = await layover(['sync', '--admin', `http://127.0.0.1:${await freePort()}`]);
    assert.equal(unreachable.stderr.trim(), "layover: cannot reach Layover's control API: ECONNREFUSED: is `layover serve` running there?");
    for (const result of [badPlatform, badSelector, nothingRunning, unreachable]) assert.notEqual(result.code, 0);
  });

  test('sync runs every enabled rule once and waits for it', async () => {
    const api = (await adminClient(serve));
    const empty = await layover(['sync']);
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(empty.stdout.trim(), 'layover: no enabled prefetch rules: nothing to sync');
    await api.saveRule({
      id: 'app-newest', registry: 'docker.io', repository: 'library/app', tags: { kind: 'newest', count: 1 },
      platforms: 'host', schedule: { kind: 'interval', hours: 24 }, enabled: true,
    });
    await api.saveRule({
      id: 'disabled', registry: 'docker.io', repository: 'library/gone', tags: { kind: 'exact', tags: ['1'] },
      platforms: 'host', schedule: { kind: 'interval', hours: 24 }, enabled: false,
    });
    const result = await layover(['sync']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^library\/app 1\.1: done/m);
    assert.match(result.stdout.trim().split('\n').at(-1)!, /^layover: 1 sync job done$/, 'the disabled rule did not run');
    const status = (await api.listRules()).find((rule) => rule.rule.id === 'app-newest')!;
    assert.deepEqual(status.tags.map((tag) => [tag.tag, tag.state]), [['1.1', 'in-sync']]);
  });

  test('gc says what it freed', async () => {
    const result = await layover(['gc']);
    if (LAYOVER_METHODS.includes('gc' as LayoverMethod)) {
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout.trim(), /^layover: freed 0 B in 0 blobs: no cache quota is set/);
    } else {
      // Until LayoverApi has gc (the type change in the prefetch report), the control API refuses it, and the CLI says why.
      assert.notEqual(result.code, 0);
      assert.match(result.stderr.trim(), /^layover: the running Layover at http:\/\/127\.0\.0\.1:\d+ does not offer gc/);
    }
  });
});
