import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { requireDigest } from '../store/digest.js';
import { PRIVATE_DIR_MODE } from '../store/blob-store.js';

/**
 * The partial files of resumable transfers: bytes of a blob kept across a
 * stop (a pull came, a job was paused, Layover was killed), continued with a
 * Range request by the next transfer of the same digest. They are the
 * ingest files of the fetcher's resumable mode (BlobStore.createIngest with
 * `keptAt`): never served, hashed again when resumed, and renamed into the
 * store only after the digest matched.
 *
 * The folder keeps the name prefetch gave it when prefetch kept these bytes
 * itself, so partial bytes from an older version still resume.
 */
export class PartialBlobs {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'prefetch', 'partial');
  }

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  }

  /** Only ever built from a digest that passed the grammar: no name reaches outside the folder. */
  pathOf(digest: string): string {
    const { algorithm, encoded } = requireDigest(digest);
    return join(this.dir, `${algorithm}-${encoded}`);
  }

  /** Bytes kept for this digest (0 when none). */
  async size(digest: string): Promise<number> {
    return (await stat(this.pathOf(digest)).catch(() => undefined))?.size ?? 0;
  }

  async remove(digest: string): Promise<void> {
    await rm(this.pathOf(digest), { force: true });
  }

  /** Partial files no transfer came back for: older than maxAgeMs (one being written is younger). */
  async removeOlderThan(maxAgeMs: number, now = Date.now()): Promise<number> {
    let removed = 0;
    for (const file of await readdir(this.dir).catch(() => [] as string[])) {
      const info = await stat(join(this.dir, file)).catch(() => undefined);
      if (info && now - info.mtimeMs > maxAgeMs) {
        await rm(join(this.dir, file), { force: true });
        removed += 1;
      }
    }
    return removed;
  }
}
