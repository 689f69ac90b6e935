/**
 * The index on a filesystem that is full when it commits: the write fails
 * with the reason, the changes stay readable and are written once there is
 * room, a stop still ends, and the index on disk is never half-written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open as openFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MetadataIndex } from '../../src-main/core/store/metadata.js';
import { makeTempDir, removeTempDir, runChecked, runCommand } from '../support/process.js';

const TAGS_PER_BATCH = 2_000;

/** Writes zeros until the filesystem refuses: then nothing new fits. */
async function fillUp(path: string): Promise<void> {
  const handle = await openFile(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) await handle.write(chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    await handle.close();
  }
}

function tagBatch(index: MetadataIndex, batch: number): void {
  for (let n = 0; n < TAGS_PER_BATCH; n++) {
    index.setTag('docker.io', `team/app-${batch}`, `v${n}`, { digest: `sha256:${String(n).padStart(64, '0')}`, mediaType: 'application/vnd.oci.image.manifest.v1+json', checkedAt: batch });
  }
}

async function openIndex(dataDir: string): Promise<MetadataIndex> {
  const index = new MetadataIndex(dataDir);
  await index.load();
  return index;
}

test('disk full during an index commit: a clear error, nothing lost or corrupt, written once there is room', async () => {
  const work = await makeTempDir('index-disk-full');
  const small = join(work, 'small-fs');
  await runChecked('mkdir', ['-p', small]);
  await runChecked('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', small]);
  const dataDir = join(small, 'data');
  const filler = join(small, 'filler');
  let index: MetadataIndex | undefined;
  try {
    index = await openIndex(dataDir);
    tagBatch(index, 1);
    await index.flush();

    await fillUp(filler);
    tagBatch(index, 2);
    await assert.rejects(index.flush(), /the index commit failed: No space left on device/, 'the reason is in the error');
    assert.equal(index.getTag('docker.io', 'team/app-2', 'v7')?.checkedAt, 2, 'the change is still read back');
    await rm(filler);
    await index.flush();

    await fillUp(filler);
    tagBatch(index, 3);
    await assert.rejects(index.close(), /No space left on device/, 'a stop on a full disk ends, with the reason');
    await rm(filler);

    index = await openIndex(dataDir);
    for (const batch of [1, 2]) assert.equal(Object.keys(index.repository('docker.io', `team/app-${batch}`)?.tags ?? {}).length, TAGS_PER_BATCH, `batch ${batch} is whole`);
    assert.equal(index.repository('docker.io', 'team/app-3'), undefined, 'the batch that never fitted is absent, not half-written');
    assert.equal(index.repositoryCount(), 2);
  } finally {
    await index?.close().catch(() => undefined);
    // A lazy unmount if a failed run left the map open: the mount never outlives the test.
    if ((await runCommand('umount', [small])).code !== 0) await runCommand('umount', ['-l', small]);
    await removeTempDir(work);
  }
});
