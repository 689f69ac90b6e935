import { Transform, type TransformCallback } from 'node:stream';

/**
 * Zstandard for `.tar.zst` bundles. Node 20 has no zstd, so two small
 * packages without install scripts do it, each loaded only when a
 * compressed bundle is written or read (never by an idle `layover serve`):
 *
 * - writing: @bokuweb/zstd-wasm, the reference zstd library as WebAssembly.
 *   It compresses whole buffers only, so the stream is cut into independent
 *   frames of FRAME_BYTES each (the zstd format is "one or more frames";
 *   `zstd -d`, Go's zstd and every conforming reader take them in a row).
 *   Memory stays at one frame's input and output however large the bundle.
 * - reading: fzstd, a streaming decoder in plain JavaScript that keeps one
 *   window (a few MiB for ordinary levels) and takes bundles written by
 *   `zstd` itself, of unknown size, one frame or many.
 *
 * A frame's checksum is not what guards a bundle: every blob is verified
 * against its digest as it is imported, and a broken frame is an error.
 */

/** The first four bytes of a zstd frame (little-endian 0xFD2FB528). */
export const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
/** Input bytes per frame: the window of level 3 is 2 MiB, so little ratio is lost, and one frame takes a few ms to compress. */
export const FRAME_BYTES = 2 * 1024 * 1024;
const LEVEL = 3;

/** Whether these first bytes start zstd data: a frame, or a skippable frame (magic 0x184D2A5?). */
export function isZstd(head: Buffer): boolean {
  if (head.length < 4) return false;
  if (head.subarray(0, 4).equals(ZSTD_MAGIC)) return true;
  return (head.readUInt32LE(0) & 0xfffffff0) === 0x184d2a50;
}

type Compress = (bytes: Uint8Array, level?: number) => Uint8Array;
let compressor: Promise<Compress> | undefined;

function loadCompressor(): Promise<Compress> {
  compressor ??= (async () => {
    const zstd = await import('@bokuweb/zstd-wasm'); // CommonJS: its named exports are found by Node's loader
    await zstd.init();
    return zstd.compress;
  })();
  compressor.catch(() => {
    compressor = undefined;
  });
  return compressor;
}

/** A Transform that compresses what is written through it into zstd frames. */
export async function createZstdCompressor(): Promise<Transform> {
  const compress = await loadCompressor();
  let pending: Buffer[] = [];
  let size = 0;
  const frame = (stream: Transform) => {
    if (size === 0) return;
    const input = pending.length === 1 ? pending[0]! : Buffer.concat(pending, size);
    pending = [];
    size = 0;
    const output = compress(input, LEVEL);
    stream.push(Buffer.from(output.buffer, output.byteOffset, output.byteLength));
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      pending.push(chunk);
      size += chunk.length;
      try {
        if (size >= FRAME_BYTES) frame(this);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        frame(this);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

/** A Transform that decompresses zstd data (one frame or many) as it streams through. */
export async function createZstdDecompressor(): Promise<Transform> {
  const { Decompress } = await import('fzstd');
  const out: Uint8Array[] = [];
  const decoder = new Decompress((chunk) => {
    out.push(chunk);
  });
  const drain = (stream: Transform) => {
    for (const chunk of out.splice(0)) stream.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  };
  const failed = (error: unknown) => new Error(`the zstd data is damaged or cut short (${(error as Error).message})`);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        decoder.push(chunk);
        drain(this);
        callback();
      } catch (error) {
        callback(failed(error));
      }
    },
    flush(callback: TransformCallback) {
      try {
        decoder.push(new Uint8Array(0), true);
        drain(this);
        callback();
      } catch (error) {
        callback(failed(error));
      }
    },
  });
}
