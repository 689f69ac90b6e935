import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { Ingest } from './ingest.js';
import { sendRange } from './send-file.js';

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

/**
 * Sends bytes [start, end] of a blob that is still being ingested, reading
 * the ingest file on disk as it grows, from reused buffers (see sendRange).
 * The last byte of the range is held back until the whole blob has been
 * verified: a client never receives a complete body whose digest turned out
 * wrong. If the ingest fails, this rejects and the response carrying these
 * bytes is aborted. `end` may be Infinity when the upstream did not announce a size.
 */
export async function sendFollowing(ingest: Ingest, start: number, end: number, destination: Writable, onBytes?: (bytes: number) => void): Promise<void> {
  const handle = await openFollowing(ingest);
  try {
    await sendRange(async (buffer, position, length) => {
      for (;;) {
        if (ingest.state === 'failed') throw ingest.error ?? new Error('ingest failed');
        const limit = readableLimit(ingest, end);
        if (position < limit) {
          const { bytesRead } = await handle.read(buffer, 0, Math.min(length, limit - position), position);
          if (bytesRead === 0) throw new Error('blob file ended before the bytes it announced');
          return bytesRead;
        }
        if (ingest.state === 'verified') return 0; // a chunked upstream ended before `end` (Infinity)
        await ingest.changed();
      }
    }, start, end, destination, onBytes);
  } finally {
    await handle.close();
  }
}
