import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Ingest } from './ingest.js';
import { requireDigest } from './digest.js';
import { parseDigest } from '../oci/grammar.js';

/** Folders of the store are its owner's alone, like the files in them (0600, see Ingest). */
export const PRIVATE_DIR_MODE = 0o700;

export interface StoreUsage {
  bytes: number;
  blobs: number;
}

/**
 * Where the store records which blobs it holds, so that usage and eviction
 * never need a walk of the files (the metadata index implements it).
 */
export interface BlobIndex {
  addBlob(digest: string, size: number): void;
  removeBlob(digest: string): void;
  usage(): Readonly<StoreUsage>;
}

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
  /** Without an index (tests of the bytes alone), usage counts what this instance stored and deleted. */
  private readonly counted: StoreUsage = { bytes: 0, blobs: 0 };

  constructor(readonly dataDir: string, private readonly index?: BlobIndex) {
    this.blobsDir = join(dataDir, 'blobs');
    this.ingestDir = join(dataDir, 'ingest');
  }

  /** Bytes and blobs held, from the index: kept current as blobs arrive and leave, never by a scan. */
  get usage(): Readonly<StoreUsage> {
    return this.index?.usage() ?? this.counted;
  }

  /** Creates the folders and removes whatever a crash left half-written. */
  async open(): Promise<{ removedLeftovers: number }> {
    await mkdir(this.blobsDir, { recursive: true, mode: PRIVATE_DIR_MODE });
    const leftovers = await readdir(this.ingestDir).catch(() => [] as string[]);
    await rm(this.ingestDir, { recursive: true, force: true });
    await mkdir(this.ingestDir, { recursive: true, mode: PRIVATE_DIR_MODE });
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

  /**
   * `keptAt`: a resumable ingest's partial file (under the data directory, named by the digest), kept across
   * stops and restarts and continued where it ended, instead of a fresh file under ingest/ that a restart removes.
   */
  async createIngest(digest: string, expectedSize?: number, keptAt?: string): Promise<Ingest> {
    const finalPath = this.pathOf(digest);
    await mkdir(join(finalPath, '..'), { recursive: true, mode: PRIVATE_DIR_MODE });
    const ingest = new Ingest(digest, keptAt ?? join(this.ingestDir, randomUUID()), finalPath, expectedSize);
    await (keptAt ? ingest.resume() : ingest.start());
    ingest.once('verified', () => this.recordAdded(digest, ingest.bytesWritten));
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

  /** Removes the file and its record; a record whose file was already gone is dropped too. */
  async delete(digest: string): Promise<void> {
    const size = await this.sizeOf(digest);
    if (size !== undefined) await rm(this.pathOf(digest), { force: true });
    if (this.index) this.index.removeBlob(digest);
    else if (size !== undefined) {
      this.counted.bytes -= size;
      this.counted.blobs -= 1;
    }
  }

  /**
   * The digests of the blob files, one prefix folder at a time (about 1/256 of
   * the store each): for the import of an old data directory and the
   * background check, which stat only what they need.
   */
  async *digestsByFolder(): AsyncGenerator<string[]> {
    for (const algorithm of await readdir(this.blobsDir).catch(() => [] as string[])) {
      for (const prefix of await readdir(join(this.blobsDir, algorithm)).catch(() => [] as string[])) {
        const names = await readdir(join(this.blobsDir, algorithm, prefix)).catch(() => [] as string[]);
        const digests = names.flatMap((name) => digestOfFile(algorithm, prefix, name) ?? []);
        if (digests.length > 0) yield digests;
      }
    }
  }

  private recordAdded(digest: string, size: number): void {
    if (this.index) {
      this.index.addBlob(digest, size);
      return;
    }
    this.counted.bytes += size;
    this.counted.blobs += 1;
  }
}

/** The digest a file in the blobs folder holds, or undefined for a file the store would never have put there. */
function digestOfFile(algorithm: string, prefix: string, name: string): string | undefined {
  const digest = `${algorithm}:${name}`;
  return parseDigest(digest) && name.startsWith(prefix) && prefix.length === 2 ? digest : undefined;
}
