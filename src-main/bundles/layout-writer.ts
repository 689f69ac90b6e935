import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, lstat, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { blobEntryPath, BundleError } from './bundle-format.js';

/**
 * Writes a bundle as a directory or a .tar. Everything goes to a staging
 * name beside the target and is renamed into place at the end: a drive
 * pulled out mid-export never shows a bundle that looks whole.
 */
export interface LayoutWriter {
  addFile(name: string, bytes: Buffer): Promise<void>;
  /** Copies a blob from the store; onBytes follows the copy. */
  addBlob(digest: string, sourcePath: string, size: number, onBytes: (bytes: number) => void): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

export type BundleFormat = 'directory' | 'tar' | 'tar.zst';

/** `.tar` writes an archive, `.tar.zst` (or `.tzst`) a zstd-compressed one; anything else a directory. */
export function formatOf(out: string): BundleFormat {
  if (/\.(tar\.zstd?|tzst)$/i.test(out)) return 'tar.zst';
  return /\.tar$/i.test(out) ? 'tar' : 'directory';
}

/** A bundle never overwrites anything: asked before the work starts, and again when the writing does. */
export async function refuseExisting(out: string): Promise<void> {
  if (await lstat(out).catch(() => undefined)) throw new BundleError(`${out} already exists: choose a new name, or remove it first`);
}

export async function createLayoutWriter(out: string): Promise<LayoutWriter> {
  await refuseExisting(out);
  await lstat(dirname(out)).catch(() => {
    throw new BundleError(`cannot write ${out}: the folder ${dirname(out)} does not exist`);
  });
  const staging = join(dirname(out), `.${basename(out)}.partial-${randomUUID().slice(0, 8)}`);
  const format = formatOf(out);
  return format === 'directory' ? directoryWriter(out, staging) : tarWriter(out, staging, format === 'tar.zst');
}

function directoryWriter(out: string, staging: string): LayoutWriter {
  const made = new Set<string>();
  const ensureDir = async (dir: string) => {
    if (made.has(dir)) return;
    await mkdir(dir, { recursive: true });
    made.add(dir);
  };
  return {
    async addFile(name, bytes) {
      await ensureDir(staging);
      await writeFile(join(staging, name), bytes);
    },
    async addBlob(digest, sourcePath, size, onBytes) {
      const target = join(staging, blobEntryPath(digest));
      await ensureDir(dirname(target));
      await copyFile(sourcePath, target);
      onBytes(size);
    },
    async finish() {
      await rename(staging, out);
    },
    async abort() {
      await rm(staging, { recursive: true, force: true });
    },
  };
}

/** tar-stream (and zstd) are loaded by the first bundle written, never by an idle `layover serve`. */
async function tarWriter(out: string, staging: string, zstd: boolean): Promise<LayoutWriter> {
  const { default: tarStream } = await import('tar-stream');
  const compress = zstd ? await (await import('./zstd-streams.js')).createZstdCompressor() : undefined;
  const pack = tarStream.pack();
  const file = createWriteStream(staging, { mode: 0o644 });
  const written = compress ? pipeline(pack, compress, file) : pipeline(pack, file);
  written.catch(() => undefined); // awaited in finish; an abort destroys it on purpose
  const header = (name: string, size: number) => ({ name, size, mode: 0o644, mtime: new Date(0), type: 'file' as const });
  const dirs = new Set<string>();
  const addDirs = (path: string) => {
    const parts = path.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i += 1) {
      const dir = parts.slice(0, i).join('/');
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      pack.entry({ name: `${dir}/`, type: 'directory', mode: 0o755, mtime: new Date(0) });
    }
  };
  return {
    async addFile(name, bytes) {
      await new Promise<void>((resolve, reject) => pack.entry(header(name, bytes.length), bytes, (error) => (error ? reject(error) : resolve())));
    },
    async addBlob(digest, sourcePath, size, onBytes) {
      const name = blobEntryPath(digest);
      addDirs(name);
      const entry = pack.entry(header(name, size));
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          onBytes(chunk.length);
          callback(null, chunk);
        },
      });
      await pipeline(createReadStream(sourcePath), counter, entry);
    },
    async finish() {
      pack.finalize();
      await written;
      await rename(staging, out);
    },
    async abort() {
      pack.destroy();
      compress?.destroy();
      file.destroy();
      await rm(staging, { force: true });
    },
  };
}
