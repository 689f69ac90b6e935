import { open } from 'node:fs/promises';
import type { Ingest } from './ingest.js';

/** Large reads: the hot path is disk-to-socket, and syscalls per byte are what cost. */
export const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Streams bytes [start, end] of a blob that is still being ingested, reading
 * the ingest file on disk as it grows. The last byte of the range is held back
 * until the whole blob has been verified: a client never receives a complete
 * body whose digest turned out wrong. If the ingest fails, this throws and the
 * response carrying these bytes is aborted. `end` may be Infinity when the
 * upstream did not announce a size.
 */
export async function* followIngest(ingest: Ingest, start: number, end: number): AsyncGenerator<Buffer> {
  let position = start;
  const handle = await openFollowing(ingest);
  try {
    while (position <= end) {
      if (ingest.state === 'failed') throw ingest.error ?? new Error('ingest failed');
      const limit = readableLimit(ingest, end);
      if (position >= limit) {
        if (ingest.state === 'verified') break; // a chunked upstream ended before `end` (Infinity)
        await ingest.changed();
        continue;
      }
      const length = Math.min(READ_CHUNK_BYTES, limit - position);
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      if (bytesRead === 0) throw new Error('blob file ended before the bytes it announced');
      position += bytesRead;
      yield bytesRead === length ? buffer : buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** One past the last byte that may be sent now. */
function readableLimit(ingest: Ingest, end: number): number {
  if (ingest.state === 'verified') return Math.min(end + 1, ingest.bytesWritten);
  return Math.min(end, ingest.bytesWritten);
}

/** Opens the ingest file, or the blob it was renamed to if verification won the race. */
async function openFollowing(ingest: Ingest) {
  try {
    return await open(ingest.currentPath(), 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || ingest.state !== 'verified') {
      if (ingest.state === 'failed') throw ingest.error ?? error;
      throw error;
    }
    return open(ingest.currentPath(), 'r');
  }
}
