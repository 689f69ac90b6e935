import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';

export interface TagRecord {
  digest: string;
  mediaType: string;
  /** When the upstream last confirmed this tag (epoch ms). */
  checkedAt: number;
}

export interface ManifestRecord {
  mediaType: string;
  size: number;
}

export interface RepositoryRecord {
  tags: Record<string, TagRecord>;
  /** The upstream's full tag list, kept for offline tags/list. */
  tagList?: { tags: string[]; fetchedAt: number };
  lastAccess: number;
}

interface MetadataFile {
  version: 1;
  /** registry name -> repository name -> record */
  registries: Record<string, Record<string, RepositoryRecord>>;
  manifests: Record<string, ManifestRecord>;
  /** digest -> last time a client or prefetch read it, for least-recently-used eviction. */
  access: Record<string, number>;
}

const METADATA_FILE = 'metadata.json';
/** Coalesces bursts of updates (a pull touches many blobs) into one write. */
const FLUSH_DELAY_MS = 100;

/**
 * What the cache knows beyond the bytes: tags, media types, access times.
 * Held in memory, written atomically (temp file + rename) shortly after each
 * change and on close, so a crash loses at most the last moment of access
 * times, never a consistent file.
 */
export class MetadataIndex {
  private data: MetadataFile = emptyMetadata();
  private flushTimer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private readonly path: string;
  /** Until load() has read the file, a flush would overwrite it with nothing. */
  private loaded = false;
  /** Only changes are written: stopping an instance that changed nothing leaves the file as it was. */
  private dirty = false;

  constructor(dataDir: string) {
    this.path = join(dataDir, METADATA_FILE);
  }

  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${this.path}: ${(error as Error).message}`);
      this.loaded = true;
      return;
    }
    const parsed = parseMetadata(text);
    // A file this version cannot read is left alone rather than replaced by an empty index.
    if (!parsed) throw new Error(`${this.path} is not a metadata file this version of Layover understands; move it aside to start with an empty index`);
    this.data = { ...emptyMetadata(), ...parsed };
    this.loaded = true;
  }

  repository(registry: string, repository: string): RepositoryRecord | undefined {
    const repos = ownValue(this.data.registries, registry);
    return repos && ownValue(repos, repository);
  }

  /** Registry -> repository names the cache holds something of. */
  repositories(): Array<{ registry: string; repository: string; record: RepositoryRecord }> {
    return Object.entries(this.data.registries).flatMap(([registry, repos]) =>
      Object.entries(repos).map(([repository, record]) => ({ registry, repository, record })),
    );
  }

  getTag(registry: string, repository: string, tag: string): TagRecord | undefined {
    const record = this.repository(registry, repository);
    return record && ownValue(record.tags, tag);
  }

  setTag(registry: string, repository: string, tag: string, record: TagRecord): void {
    setOwnValue(this.ensureRepository(registry, repository).tags, tag, record);
    this.changed();
  }

  setTagList(registry: string, repository: string, tags: string[], fetchedAt: number): void {
    this.ensureRepository(registry, repository).tagList = { tags, fetchedAt };
    this.changed();
  }

  getManifest(digest: string): ManifestRecord | undefined {
    return this.data.manifests[digest];
  }

  setManifest(digest: string, record: ManifestRecord): void {
    this.data.manifests[digest] = record;
    this.changed();
  }

  touch(digest: string, registry?: string, repository?: string, at = Date.now()): void {
    this.data.access[digest] = at;
    if (registry && repository) this.ensureRepository(registry, repository).lastAccess = at;
    this.changed();
  }

  lastAccess(digest: string): number | undefined {
    return this.data.access[digest];
  }

  /** Forgets a blob that was evicted or found missing. */
  forget(digest: string): void {
    delete this.data.access[digest];
    delete this.data.manifests[digest];
    this.changed();
  }

  async close(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.flush();
  }

  /** Writes now; concurrent calls are serialised so an older snapshot never lands last. */
  flush(): Promise<void> {
    if (!this.loaded || !this.dirty) return this.flushing;
    this.dirty = false;
    const snapshot = JSON.stringify(this.data);
    // Each write waits for the one before, whatever became of it; a failed write (a full disk) is retried at the next flush.
    const write = this.flushing.catch(() => undefined).then(() => writeFileAtomic(this.path, snapshot));
    write.catch(() => {
      this.dirty = true;
    });
    this.flushing = write;
    return write;
  }

  private ensureRepository(registry: string, repository: string): RepositoryRecord {
    const repos = ownValue(this.data.registries, registry) ?? setOwnValue(this.data.registries, registry, {});
    return ownValue(repos, repository) ?? setOwnValue(repos, repository, { tags: {}, lastAccess: Date.now() });
  }

  private changed(): void {
    this.dirty = true;
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush().catch((error) => console.error(`layover: could not save ${this.path}: ${(error as Error).message}`));
    }, FLUSH_DELAY_MS);
    this.flushTimer.unref();
  }
}

function parseMetadata(text: string): MetadataFile | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<MetadataFile>;
    return parsed.version === 1 && typeof parsed.registries === 'object' ? (parsed as MetadataFile) : undefined;
  } catch {
    return undefined;
  }
}

function emptyMetadata(): MetadataFile {
  return { version: 1, registries: {}, manifests: {}, access: {} };
}

/*
 * Tags such as "__proto__" are valid in the OCI grammar, so records keyed by
 * names are read and written as own properties only, never through the
 * prototype's accessors.
 */
function ownValue<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function setOwnValue<T>(record: Record<string, T>, key: string, value: T): T {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  return value;
}
