/**
 * The `layover demo` contract: `--no-ui --json` prints, last, one JSON object
 * with the measurements; bad input is one line; with Docker reachable through
 * DOCKER_HOST it pulls with Docker; with a Layover running on this machine
 * (and no --no-ui) the demo runs there, for its dashboard to show. The
 * command runs from source (tsx), its temp files in a dir of the test's own.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pino } from 'pino';
import type { DemoResult } from '../../src-main/api/types.js';
import { startHeadless, type HeadlessInstance } from '../../src-main/app/headless.js';
import { defaultSettings } from '../../src-main/app/settings.js';
import { createDemoService as createDemoApi } from '../../src-main/app/demo-wiring.js';
import { startDockerd, type TestDockerd } from '../support/dockerd.js';
import { makeTempDir, removeTempDir, runCommand, type RunResult } from '../support/process.js';
import { assertDemoResult, assertEmptyDir, FAST_LINK } from './support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'src-main', 'cli', 'main.ts');
const TINY = '256KiB';

interface Sandbox {
  /** TMPDIR of the command: the demo's temp files go here. */
  tmp: string;
  /** XDG_DATA_HOME: where the command looks for a running Layover. */
  data: string;
}

function layoverDemo(args: string[], sandbox: Sandbox, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const { DOCKER_HOST: _ignored, ...rest } = process.env;
  return runCommand(process.execPath, ['--import', 'tsx', MAIN, 'demo', ...args], {
    cwd: ROOT,
    env: { ...rest, TMPDIR: sandbox.tmp, XDG_DATA_HOME: sandbox.data, ...env },
    timeoutMs: 120_000,
  });
}

function lastLineJson(result: RunResult): DemoResult {
  assert.equal(result.code, 0, `layover demo failed:\n${result.stderr}`);
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines.at(-1)!) as DemoResult;
}

describe('layover demo', () => {
  let sandbox: Sandbox;
  let work: string;
  before(async () => {
    work = await makeTempDir('demo-cli');
    sandbox = { tmp: await makeTempDir('tmp', work), data: await makeTempDir('data', work) };
  });
  after(async () => {
    await removeTempDir(work);
  });

  test('--no-ui --json: the last line is one JSON object with the measurements; nothing is left in TMPDIR', async () => {
    const result = await layoverDemo(['--no-ui', '--json', '--size', TINY, '--link', FAST_LINK, '--client', 'layover'], sandbox);
    const json = lastLineJson(result);
    assertDemoResult(json, { client: 'layover' });
    assert.deepEqual(Object.keys(json).sort(), [
      'bytes', 'cachedSeconds', 'client', 'coldSeconds', 'directSeconds', 'image', 'layers', 'link', 'linkBytes', 'simulation', 'speedup', 'summary',
    ]);
    assert.equal(result.stdout.trim().split('\n').length, 1, 'with --json, stdout holds the JSON alone; progress goes to stderr');
    assert.match(result.stderr, /Pull 3: through Layover, warm/);
    assert.match(result.stderr, /warm pull [\d.]+× faster; 0 bytes over the office link/);
    await assertEmptyDir(sandbox.tmp);
  });

  test('a named profile by its id', async () => {
    const json = lastLineJson(await layoverDemo(['--no-ui', '--json', '--size', TINY, '--link', 'lan', '--client', 'layover'], sandbox));
    assert.equal(json.link.id, 'lan');
    assert.equal(json.link.label, 'Same building (LAN)');
  });

  test('bad flags fail with one line and start nothing', async () => {
    const badLink = await layoverDemo(['--no-ui', '--link', 'carrier pigeon'], sandbox);
    assert.equal(badLink.code, 1);
    assert.match(badLink.stderr.trim(), /^layover: cannot read the link "carrier pigeon": give a profile \(asia-us-dtr, .*\)/);
    const badSize = await layoverDemo(['--no-ui', '--size', 'huge'], sandbox);
    assert.equal(badSize.stderr.trim(), 'layover: cannot read the size "huge": give bytes with a unit, e.g. 40MiB, 200MB or 1GiB');
    const badClient = await layoverDemo(['--no-ui', '--client', 'podman'], sandbox);
    assert.equal(badClient.stderr.trim(), 'layover: --client expects auto, docker or layover, got "podman"');
    await assertEmptyDir(sandbox.tmp);
  });

  describe('with a Layover running on this machine', () => {
    let instance: HeadlessInstance;
    before(async () => {
      // The instance's admin token goes where the command (a child inheriting this variable) looks for it.
      process.env.LAYOVER_RUNTIME_DIR = join(sandbox.data, 'admin-tokens');
      instance = await startHeadless({
        // Where the command looks for the running instance: $XDG_DATA_HOME/layover.
        dataDir: join(sandbox.data, 'layover'),
        settings: { ...defaultSettings(), listen: '127.0.0.1:0', admin: '127.0.0.1:0' },
        logger: pino({ level: 'silent' }),
        announce: true,
        extensions: (core) => createDemoApi(core, { client: 'layover', tempParent: sandbox.tmp }),
      });
    });
    after(async () => {
      await instance?.stop();
    });

    test('without --no-ui the demo runs in it, for its dashboard; the terminal follows and prints the JSON last', async () => {
      const result = await layoverDemo(['--json', '--size', TINY, '--link', FAST_LINK], sandbox);
      const json = lastLineJson(result);
      assertDemoResult(json, { client: 'layover' });
      // A browser must log in: the link carries a one-time code and leads to the demo page.
      assert.match(result.stderr, new RegExp(`watch it in the dashboard: ${instance.adminUrl}/login\\?code=[A-Za-z0-9_-]{43}&next=%2F%23%2Fdemo\\n`));
      const inInstance = await instance.api.getDemo();
      assert.equal(inInstance.state, 'done');
      assert.deepEqual(inInstance.result, json, 'the run the terminal reported is the one the dashboard shows');
    });

    test('--no-ui runs here even so', async () => {
      const before = (await instance.api.getDemo()).startedAt;
      const result = await layoverDemo(['--no-ui', '--json', '--size', TINY, '--link', FAST_LINK, '--client', 'layover'], sandbox);
      lastLineJson(result);
      assert.doesNotMatch(result.stderr, /dashboard/);
      assert.equal((await instance.api.getDemo()).startedAt, before, 'the running Layover was not asked');
    });
  });

  describe('with Docker reachable through DOCKER_HOST', () => {
    let dockerd: TestDockerd;
    before(async () => {
      dockerd = await startDockerd();
    });
    after(async () => {
      await dockerd?.stop();
    });

    test('auto picks Docker and says so in the JSON', async () => {
      const json = lastLineJson(await layoverDemo(['--no-ui', '--json', '--size', TINY, '--link', FAST_LINK], sandbox, { DOCKER_HOST: dockerd.host }));
      assertDemoResult(json, { client: 'docker' });
      assert.equal((await dockerd.dockerChecked(['image', 'ls', '--all', '--quiet'])).stdout.trim(), '');
    });
  });
});
