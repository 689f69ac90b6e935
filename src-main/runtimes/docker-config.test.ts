import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyDockerConfig, previewDockerConfig, type DockerConfigOptions } from './docker-config.js';
import type { DockerEnvironment } from './docker-engine.js';

/**
 * daemon.json handling through the same entry points the CLI and the
 * dashboard use, on real files, with no engine to reload (--no-reload).
 */

const MIRROR = 'http://127.0.0.1:5050';

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'layover-daemon-json-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function offline(dir: string, options: Partial<DockerConfigOptions>): DockerConfigOptions {
  const environment: DockerEnvironment = { env: { XDG_RUNTIME_DIR: dir }, platform: 'linux', home: dir };
  return { daemonJsonPath: join(dir, 'daemon.json'), reload: false, candidates: [], environment, ...options };
}

test('a missing daemon.json is created with the mirror, and no backup is made of nothing', () => withDir(async (dir) => {
  const result = await applyDockerConfig(offline(dir, { mirror: MIRROR }));
  assert.equal(await readFile(join(dir, 'daemon.json'), 'utf8'), '{\n  "registry-mirrors": [\n    "http://127.0.0.1:5050"\n  ]\n}\n');
  assert.equal(result.backupPath, undefined);
  await assert.rejects(stat(join(dir, 'daemon.json.layover-backup')), { code: 'ENOENT' });
  assert.match(result.steps.join('\n'), /Not reloaded \(--no-reload\): not reloaded: run sudo systemctl reload docker to apply/);
}));

test('the previous bytes are kept beside daemon.json, and its mode is kept', () => withDir(async (dir) => {
  const path = join(dir, 'daemon.json');
  const before = '{\n  "debug": true,\n  "registry-mirrors": ["https://m.example.com"]\n}\n';
  await writeFile(path, before);
  await chmod(path, 0o640);
  const result = await applyDockerConfig(offline(dir, { mirror: MIRROR }));
  assert.equal(result.backupPath, `${path}.layover-backup`);
  assert.equal(await readFile(`${path}.layover-backup`, 'utf8'), before);
  assert.equal((await stat(path)).mode & 0o777, 0o640);
  assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), {
    debug: true,
    'registry-mirrors': ['http://127.0.0.1:5050', 'https://m.example.com'],
  });
}));

test('a second configure leaves the file byte for byte as it was and says so', () => withDir(async (dir) => {
  const path = join(dir, 'daemon.json');
  await writeFile(path, '{"debug": true}\n');
  await applyDockerConfig(offline(dir, { mirror: MIRROR }));
  const once = await readFile(path);
  const { mtimeMs } = await stat(path);
  const second = await applyDockerConfig(offline(dir, { mirror: `${MIRROR}/` }));
  assert.ok((await readFile(path)).equals(once));
  assert.equal((await stat(path)).mtimeMs, mtimeMs, 'not even rewritten');
  assert.equal(second.preview.changed, false);
  assert.match(second.steps[0]!, /already lists Layover's mirror first/);
}));

test('invalid JSON is refused with its line and column, and the file is left byte for byte untouched', () => withDir(async (dir) => {
  const path = join(dir, 'daemon.json');
  const broken = Buffer.from('{\n  "debug": true,\n  "registry-mirrors": ["https://m.example.com",]\n}\n');
  await writeFile(path, broken);
  await assert.rejects(applyDockerConfig(offline(dir, { mirror: MIRROR })), (error: Error) => {
    assert.equal(error.message, `${path} is not valid JSON (line 3, column 48: value expected); it was left unchanged`);
    return true;
  });
  assert.ok((await readFile(path)).equals(broken));
  await assert.rejects(stat(`${path}.layover-backup`), { code: 'ENOENT' });
  await assert.rejects(applyDockerConfig(offline(dir, { revert: true, mirror: MIRROR })), /not valid JSON/);
  assert.ok((await readFile(path)).equals(broken));
}));

test('a file that is not UTF-8 text is refused untouched', () => withDir(async (dir) => {
  const path = join(dir, 'daemon.json');
  const latin1 = Buffer.from([0x7b, 0x22, 0x6e, 0xe9, 0x22, 0x3a, 0x31, 0x7d]);
  await writeFile(path, latin1);
  await assert.rejects(applyDockerConfig(offline(dir, { mirror: MIRROR })), /is not UTF-8 text/);
  assert.ok((await readFile(path)).equals(latin1));
}));

test('revert restores the original bytes, finding the mirror from the record configure left', () => withDir(async (dir) => {
  const path = join(dir, 'daemon.json');
  const original = '{\n    "log-level": "warn",\n    "registry-mirrors": ["https://m.example.com"]\n}\n';
  await writeFile(path, original);
  await applyDockerConfig(offline(dir, { mirror: 'http://127.0.0.1:5999' }));
  assert.equal(JSON.parse(await readFile(`${path}.layover.json`, 'utf8')).mirror, 'http://127.0.0.1:5999');
  const result = await applyDockerConfig(offline(dir, { revert: true }));
  assert.equal(await readFile(path, 'utf8'), original);
  assert.match(result.steps[0]!, /^Updated /);
  await assert.rejects(stat(`${path}.layover.json`), { code: 'ENOENT' });
  const again = await applyDockerConfig(offline(dir, { revert: true, mirror: MIRROR }));
  assert.match(again.steps[0]!, /already has no Layover mirror/);
}));

test('revert with neither a running Layover nor a record refuses to guess', () => withDir(async (dir) => {
  await writeFile(join(dir, 'daemon.json'), '{"registry-mirrors": ["http://127.0.0.1:5050"]}');
  await assert.rejects(applyDockerConfig(offline(dir, { revert: true })), /cannot tell which mirror .* is Layover's/);
}));

test('preview says what would change and how it would apply, and writes nothing', () => withDir(async (dir) => {
  const path = join(dir, 'daemon.json');
  await writeFile(path, '{"debug": true}');
  const preview = await previewDockerConfig(offline(dir, { mirror: MIRROR, reload: true }));
  assert.deepEqual(preview, {
    path,
    before: '{"debug": true}',
    after: '{"debug": true, "registry-mirrors": ["http://127.0.0.1:5050"]}',
    changed: true,
    apply: 'sudo systemctl reload docker',
  });
  assert.equal(await readFile(path, 'utf8'), '{"debug": true}');
}));

test('configuring with a reload while Docker is unreachable fails before touching the file', () => withDir(async (dir) => {
  const path = join(dir, 'daemon.json');
  await writeFile(path, '{}');
  await assert.rejects(applyDockerConfig(offline(dir, { mirror: MIRROR, reload: true })), /Docker is not reachable.*pass --no-reload/);
  assert.equal(await readFile(path, 'utf8'), '{}');
}));

test('a mirror URL with a path is refused, as dockerd would refuse it', () => withDir(async (dir) => {
  await assert.rejects(applyDockerConfig(offline(dir, { mirror: 'http://127.0.0.1:5050/v2' })), /must not have a path/);
}));
