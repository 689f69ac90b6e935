import { createReadStream } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tarStream from 'tar-stream';
import { BundleError, layoutEntryOf } from './bundle-format.js';

/** One entry of a bundle as it is read: its path in the layout and, for a regular file, its bytes. */
export interface ReadEntry {
  path: string;
  size: number;
  /** False for links, devices and the like: refused, never followed. */
  regular: boolean;
  /** The entry's bytes; must be consumed (or skip() called) before the next entry. */
  open(): Readable;
  skip(): Promise<void>;
}

/** Small files of the layout (index.json, layover-bundle.json) are read whole, up to this size. */
export const MAX_METADATA_BYTES = 64 * 1024 * 1024;

/**
 * Reads a bundle directory, or a tar (optionally gzip) from a file, in the
 * order its entries come: a tar is read once, front to back, so a bundle on
 * a slow drive is read at the drive's speed and a pipe works too.
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
    open: () => createReadStream(file),
    skip: async () => undefined,
  };
}

async function* readTar(file: string): AsyncGenerator<ReadEntry> {
  const extract = tarStream.extract();
  const source = createReadStream(file);
  const gzip = await isGzip(file);
  source.on('error', (error) => extract.destroy(error));
  (gzip ? source.pipe(createGunzip()).on('error', (error) => extract.destroy(error)) : source).pipe(extract);
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
          return entry as unknown as Readable;
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
  }
}

async function isGzip(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    await handle.read(head, 0, 4, 0);
    if (head.readUInt32BE(0) === 0x28b52ffd) {
      throw new BundleError(`${file} is zstd-compressed: this build reads .tar and .tar.gz; decompress it first (zstd -d)`);
    }
    return head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

export { layoutEntryOf };
