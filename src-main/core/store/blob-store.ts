import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Ingest } from './ingest.js';
import { requireDigest } from './digest.js';
import { parseDigest } from '../oci/grammar.js';

/**
 * Content-addressed blobs under the data directory:
 *   blobs/<algorithm>/<first two hex>/<hex>   verified, immutable
 *   ingest/<uuid>                              being written; removed on restart
 * A path is only ever built from a digest that passed the grammar (hex only),
 * so no request can name a file outside the data directory.
 */
export class BlobStore {
  readonly blobsDir: string;
  readonly ingestDir: string;
  /** Kept current as blobs arrive and leave, so usage never needs a scan after start. */
  readonly usage = { bytes: 0, blobs: 0 };

  constructor(readonly dataDir: string) {
    this.blobsDir = join(dataDir, 'blobs');
    this.ingestDir = join(dataDir, 'ingest');
  }

  /** Creates the folders and removes whatever a crash left half-written. */
  async open(): Promise<{ removedLeftovers: number }> {
    await mkdir(this.blobsDir, { recursive: true });
    const leftovers = await readdir(this.ingestDir).catch(() => [] as string[]);
    await rm(this.ingestDir, { recursive: true, force: true });
    await mkdir(this.ingestDir, { recursive: true });
    const blobs = await this.list();
    this.usage.blobs = blobs.length;
    this.usage.bytes = blobs.reduce((sum, blob) => sum + blob.size, 0);
    return { removedLeftovers: leftovers.length };
  }

  pathOf(digest: string): string {
    const { algorithm, encoded } = requireDigest(digest);
    return join(this.blobsDir, algorithm, encoded.slice(0, 2), encoded);
  }

  /** The size of a verified blob, or undefined when the store does not hold it. */
  async sizeOf(digest: string): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(digest))).size;
    } catch {
      return undefined;
    }
  }

  async read(digest: string): Promise<Buffer> {
    return readFile(this.pathOf(digest));
  }

  async createIngest(digest: string, expectedSize?: number): Promise<Ingest> {
    const finalPath = this.pathOf(digest);
    await mkdir(join(finalPath, '..'), { recursive: true });
    const ingest = new Ingest(digest, join(this.ingestDir, randomUUID()), finalPath, expectedSize);
    await ingest.start();
    ingest.once('verified', () => {
      this.usage.bytes += ingest.bytesWritten;
      this.usage.blobs += 1;
    });
    return ingest;
  }

  /** Stores small content already in memory (manifests), through the same verified ingest. */
  async put(digest: string, bytes: Buffer): Promise<void> {
    if ((await this.sizeOf(digest)) === bytes.length) return;
    const ingest = await this.createIngest(digest, bytes.length);
    try {
      await ingest.write(bytes);
    } catch (error) {
      await ingest.fail(error as Error);
      throw error;
    }
    await ingest.finish();
  }

  async delete(digest: string): Promise<void> {
    const size = await this.sizeOf(digest);
    if (size === undefined) return;
    await rm(this.pathOf(digest), { force: true });
    this.usage.bytes -= size;
    this.usage.blobs -= 1;
  }

  /** Every verified blob with its size and last modification, for usage and eviction. */
  async list(): Promise<Array<{ digest: string; size: number; mtimeMs: number }>> {
    const found: Array<{ digest: string; size: number; mtimeMs: number }> = [];
    for (const algorithm of await readdir(this.blobsDir).catch(() => [] as string[])) {
      for (const prefix of await readdir(join(this.blobsDir, algorithm)).catch(() => [] as string[])) {
        for (const encoded of await readdir(join(this.blobsDir, algorithm, prefix)).catch(() => [] as string[])) {
          const digest = `${algorithm}:${encoded}`;
          const info = parseDigest(digest) && (await stat(join(this.blobsDir, algorithm, prefix, encoded)).catch(() => undefined));
          if (info && info.isFile()) found.push({ digest, size: info.size, mtimeMs: info.mtimeMs });
        }
      }
    }
    return found;
  }
}
