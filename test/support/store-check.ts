/** Reads a data directory the way a paranoid operator would: every stored blob must hash to its name. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface StoreCheck {
  blobs: number;
  corrupt: string[];
  ingestLeftovers: string[];
}

export async function checkStore(dataDir: string): Promise<StoreCheck> {
  const corrupt: string[] = [];
  let blobs = 0;
  const root = join(dataDir, 'blobs', 'sha256');
  for (const prefix of await readdir(root).catch(() => [] as string[])) {
    for (const hex of await readdir(join(root, prefix))) {
      blobs += 1;
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(join(root, prefix, hex))) hash.update(chunk as Buffer);
      if (hash.digest('hex') !== hex) corrupt.push(`sha256:${hex}`);
    }
  }
  const ingestLeftovers = await readdir(join(dataDir, 'ingest')).catch(() => [] as string[]);
  return { blobs, corrupt, ingestLeftovers };
}
