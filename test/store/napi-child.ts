/**
 * Run by napi-build.test.ts in a child process whose Node ABI is made to look
 * like Electron's: exercises the index and prints which lmdb binary is mapped.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetadataIndex } from '../../src-main/core/store/metadata.js';

const dir = await mkdtemp(join(tmpdir(), 'layover-napi-'));
try {
  const first = new MetadataIndex(dir);
  await first.load();
  first.setTag('docker.io', 'library/alpine', 'latest', { digest: `sha256:${'1'.repeat(64)}`, mediaType: 'm', checkedAt: 1 });
  first.addBlob(`sha256:${'2'.repeat(64)}`, 42);
  await first.close();
  const again = new MetadataIndex(dir);
  await again.load();
  const binaries = [...new Set(readFileSync('/proc/self/maps', 'utf8').split('\n').map((line) => line.split(' ').pop() ?? '').filter((path) => /lmdb.*\.node$/.test(path)))];
  console.log(JSON.stringify({ tag: again.getTag('docker.io', 'library/alpine', 'latest')?.digest, usage: again.usage(), oldest: again.oldestBlobs(1), binaries }));
  await again.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
