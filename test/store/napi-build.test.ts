/**
 * Electron 45 has no lmdb binary built for its ABI, so it loads lmdb's N-API
 * binary (the same file serves every runtime). The Electron binary cannot run
 * here; a Node child whose ABI number is Electron's loads that binary exactly
 * as Electron's loader would, and the index must work with it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(import.meta.dirname, '..', '..');

test('the index works with the N-API lmdb binary that Electron 45 loads', async () => {
  const electronAbi = (await readFile(join(ROOT, 'node_modules', 'electron', 'abi_version'), 'utf8')).trim();
  const asElectron = `data:text/javascript,Object.defineProperty(process.versions,"modules",{value:"${electronAbi}"})`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', asElectron, '--import', 'tsx', join(import.meta.dirname, 'napi-child.ts')], { cwd: ROOT });
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as { tag: string; usage: unknown; oldest: Array<{ digest: string }>; binaries: string[] };
  assert.deepEqual(result.binaries.map((path) => path.split('/').pop()), ['node.napi.glibc.node'], 'the N-API binary, not one built for Node\'s own ABI');
  assert.equal(result.tag, `sha256:${'1'.repeat(64)}`);
  assert.deepEqual(result.usage, { bytes: 42, blobs: 1 });
  assert.deepEqual(result.oldest.map((entry) => entry.digest), [`sha256:${'2'.repeat(64)}`]);
});
