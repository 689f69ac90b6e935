import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';

/** Large reads: the hot path is disk-to-socket, and syscalls per byte are what cost. */
export const READ_CHUNK_BYTES = 1024 * 1024;
/** Reading ahead by one buffer while the other is on its way to the socket keeps disk and socket both busy. */
const BUFFERS = 2;
/** Buffers kept between responses, so a busy server allocates none and an idle one holds at most this many. */
const POOL_LIMIT = 8;
const pool: Buffer[] = [];

/**
 * Reads up to `length` bytes at `position` into `buffer`; resolves 0 when
 * there is no more (a chunked transfer ended). May wait for bytes to arrive.
 */
export type ReadAt = (buffer: Buffer, position: number, length: number) => Promise<number>;

/**
 * Copies bytes [start, end] to `destination` (end may be Infinity), reading
 * into a few buffers that are reused: a fresh 1 MiB Buffer per read costs an
 * allocation, page faults and, at GB/s, a garbage collection every few dozen
 * ms. A buffer is refilled only after the write that carried it has completed
 * (its callback), so no byte is overwritten while the kernel may still need
 * it. Does not end the destination.
 */
export async function sendRange(readAt: ReadAt, start: number, end: number, destination: Writable, onBytes: (bytes: number) => void = () => {}): Promise<void> {
  const buffers = Array.from({ length: BUFFERS }, () => pool.pop() ?? Buffer.allocUnsafeSlow(READ_CHUNK_BYTES));
  const writing: Array<Promise<void> | undefined> = new Array(BUFFERS).fill(undefined);
  for (let position = start, turn = 0; position <= end; turn++) {
    const slot = turn % BUFFERS;
    await writing[slot];
    const bytesRead = await readAt(buffers[slot]!, position, Math.min(READ_CHUNK_BYTES, end + 1 - position));
    if (bytesRead === 0) break;
    position += bytesRead;
    onBytes(bytesRead);
    const write = written(destination, buffers[slot]!.subarray(0, bytesRead));
    write.catch(() => undefined); // awaited later; if another write fails first, this one must not go unhandled
    writing[slot] = write;
  }
  await Promise.all(writing);
  // Only after every write completed: after a failure a buffer may still be in the kernel's hands.
  for (const buffer of buffers) if (pool.length < POOL_LIMIT) pool.push(buffer);
}

/** sendRange over a verified blob file. */
export async function sendFileRange(path: string, start: number, end: number, destination: Writable, onBytes?: (bytes: number) => void): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await sendRange(async (buffer, position, length) => {
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      if (bytesRead === 0) throw new Error('blob file ended before the bytes it announced');
      return bytesRead;
    }, start, end, destination, onBytes);
  } finally {
    await handle.close();
  }
}

/** Resolves when the chunk has been handed to the OS; rejects if the destination fails or closes first. */
function written(destination: Writable, chunk: Buffer): Promise<void> {
  if (destination.destroyed) return Promise.reject(new Error('the client went away'));
  return new Promise((resolve, reject) => {
    const onClose = () => reject(new Error('the client went away'));
    destination.once('close', onClose);
    destination.write(chunk, (error) => {
      destination.off('close', onClose);
      if (error) reject(error);
      else resolve();
    });
  });
}
