import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { READ_CHUNK_BYTES, sendFileRange } from './send-file.js';

async function withFile(bytes: Buffer, run: (path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'layover-send-'));
  try {
    await writeFile(join(dir, 'blob'), bytes);
    await run(join(dir, 'blob'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A destination that hashes what it gets only after a delay: a buffer reused too early would change the hash. */
function slowHashingSink(delayMs: number): { sink: Writable; digest: () => string; bytes: () => number } {
  const hash = createHash('sha256');
  let count = 0;
  const sink = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, done) {
      setTimeout(() => {
        hash.update(chunk);
        count += chunk.length;
        done();
      }, delayMs);
    },
  });
  return { sink, digest: () => hash.digest('hex'), bytes: () => count };
}

test('sends exactly the range, even to a slow destination, though its buffers are reused', async () => {
  const bytes = randomBytes(5 * READ_CHUNK_BYTES + 12_345);
  await withFile(bytes, async (path) => {
    const whole = slowHashingSink(5);
    await sendFileRange(path, 0, bytes.length - 1, whole.sink);
    assert.equal(whole.digest(), createHash('sha256').update(bytes).digest('hex'));

    const range = slowHashingSink(1);
    await sendFileRange(path, 1000, 2 * READ_CHUNK_BYTES + 999, range.sink);
    assert.equal(range.bytes(), 2 * READ_CHUNK_BYTES);
    assert.equal(range.digest(), createHash('sha256').update(bytes.subarray(1000, 2 * READ_CHUNK_BYTES + 1000)).digest('hex'));
  });
});

test('a destination that goes away mid-send rejects the send, and nothing is left unhandled', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    await withFile(randomBytes(8 * READ_CHUNK_BYTES), async (path) => {
      const { sink } = slowHashingSink(20);
      setTimeout(() => sink.destroy(), 30);
      await assert.rejects(sendFileRange(path, 0, 8 * READ_CHUNK_BYTES - 1, sink), /went away|destroyed/);
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
