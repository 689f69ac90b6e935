import { createReadStream } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { BundleError, layoutEntryOf } from './bundle-format.js';
import { isZstd } from './zstd-streams.js';

/** One entry of a bundle as it is read: its path in the layout and, for a regular file, its bytes. */
export interface ReadEntry {
  path: string;
  size: number;
  /** False for links, devices and the like: refused, never followed. */
  regular: boolean;
  /**
   * The entry's bytes from `offset` on (a directory's file seeks; a tar's entry starts at 0 and says so
   * in `start`); must be consumed (or skip() called) before the next entry.
   */
  open(offset?: number): { start: number; stream: Readable };
  skip(): Promise<void>;
}

/** Small files of the layout (index.json, layover-bundle.json) are read whole, up to this size. */
export const MAX_METADATA_BYTES = 64 * 1024 * 1024;

/**
 * Reads a bundle directory, or a tar from a file (plain, gzip or zstd, told
 * by its first bytes, not by its name), in the order its entries come: a tar
 * is read once, front to back, so a bundle on a slow drive is read at the
 * drive's speed.
 */
export async function* readLayout(path: string): AsyncGenerator<ReadEntry> {
  const info = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    throw new BundleError(`cannot read the bundle ${path}: ${error.code ?? error.message}`);
  });
  if (info.isDirectory()) yield* readDirectory(path);
  else if (info.isFile()) yield* readTar(path);
  else throw new BundleError(`${path} is neither a bundle directory nor a .tar file`);
}

async function* readDirectory(root: string): AsyncGenerator<ReadEntry> {
  const top = await readdir(root);
  // The layout's own files first, so the import knows the contents before the blobs arrive.
  const order = (name: string) => (name === 'blobs' ? 1 : 0);
  for (const name of top.sort((a, b) => order(a) - order(b))) {
    if (name === 'blobs') {
      for (const algorithm of await readdir(join(root, 'blobs')).catch(() => [] as string[])) {
        const dir = join(root, 'blobs', algorithm);
        if (!(await lstat(dir)).isDirectory()) {
          yield fileEntry(`blobs/${algorithm}`, dir, await lstat(dir));
          continue;
        }
        for (const file of await readdir(dir)) yield fileEntry(`blobs/${algorithm}/${file}`, join(dir, file), await lstat(join(dir, file)));
      }
      continue;
    }
    yield fileEntry(name, join(root, name), await lstat(join(root, name)));
  }
}

function fileEntry(path: string, file: string, info: Awaited<ReturnType<typeof lstat>>): ReadEntry {
  return {
    path: info.isDirectory() ? `${path}/` : path,
    size: Number(info.size),
    regular: info.isFile(),
    open: (offset = 0) => ({ start: offset, stream: createReadStream(file, { start: offset }) }),
    skip: async () => undefined,
  };
}

/** tar-stream (and zstd) are loaded by the first bundle read, never by an idle `layover serve`. */
async function* readTar(file: string): AsyncGenerator<ReadEntry> {
  const { default: tarStream } = await import('tar-stream');
  const compression = await compressionOf(file);
  const decompress: Transform | undefined = compression === 'gzip'
    ? createGunzip()
    : compression === 'zstd' ? await (await import('./zstd-streams.js')).createZstdDecompressor() : undefined;
  const extract = tarStream.extract();
  const source = createReadStream(file);
  source.on('error', (error) => extract.destroy(error));
  (decompress ? source.pipe(decompress).on('error', (error) => extract.destroy(error)) : source).pipe(extract);
  let current: string | undefined;
  try {
    for await (const entry of extract) {
      const { name, size = 0, type } = entry.header;
      current = name;
      let used = false;
      yield {
        path: name,
        size,
        regular: type === 'file' || type === 'contiguous-file',
        open: () => {
          used = true;
          return { start: 0, stream: entry as unknown as Readable };
        },
        skip: async () => {
          used = true;
          entry.resume();
          await new Promise<void>((resolve, reject) => entry.once('end', resolve).once('error', reject));
        },
      };
      if (!used) entry.resume();
    }
  } catch (error) {
    throw new BundleError(`${file} is damaged or truncated${current ? ` (in or after the entry ${current})` : ''}: ${(error as Error).message}`);
  } finally {
    source.destroy();
    decompress?.destroy();
  }
}

/** What the file's first bytes say it is, whatever its name. */
async function compressionOf(file: string): Promise<'gzip' | 'zstd' | 'none'> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    return isZstd(head.subarray(0, bytesRead)) ? 'zstd' : 'none';
  } finally {
    await handle.close();
  }
}

export { layoutEntryOf };
