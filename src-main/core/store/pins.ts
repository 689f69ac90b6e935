import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';

/** One pin: content kept from eviction until a time, and why (an import of a bundle, by path). */
export interface PinRecord {
  reason: string;
  until: number;
  digests: string[];
}

const PINS_FILE = 'pins.json';

/**
 * Content the quota must not evict until a given time: what a courier
 * bundle brought in, so an office that imported images for the month still
 * has them when the quota runs. One record per pin (per import), kept in the
 * data directory; expired records are dropped when the book is read or
 * written. Eviction asks isPinned for each candidate (see quota.ts).
 */
export class PinBook {
  private records: PinRecord[] = [];
  private readonly until = new Map<string, number>();
  readonly file: string;

  constructor(dataDir: string) {
    this.file = join(dataDir, PINS_FILE);
  }

  async load(): Promise<void> {
    const text = await readFile(this.file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '[]';
      throw error;
    });
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = []; // a damaged pin file loses pins, never the cache
    }
    this.records = Array.isArray(parsed) ? (parsed as PinRecord[]).filter((r) => typeof r?.until === 'number' && Array.isArray(r.digests)) : [];
    this.rebuild();
  }

  async pin(record: PinRecord): Promise<void> {
    this.records.push(record);
    this.rebuild();
    await writeFileAtomic(this.file, JSON.stringify(this.records), { mode: 0o600 });
  }

  isPinned(digest: string, now = Date.now()): boolean {
    return (this.until.get(digest) ?? 0) > now;
  }

  /** When the pin of a digest ends; undefined when it is not pinned. */
  pinnedUntil(digest: string, now = Date.now()): number | undefined {
    const until = this.until.get(digest);
    return until !== undefined && until > now ? until : undefined;
  }

  private rebuild(now = Date.now()): void {
    this.records = this.records.filter((record) => record.until > now);
    this.until.clear();
    for (const record of this.records) {
      for (const digest of record.digests) this.until.set(digest, Math.max(this.until.get(digest) ?? 0, record.until));
    }
  }
}
