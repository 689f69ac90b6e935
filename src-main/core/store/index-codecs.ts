import type { Database, RangeOptions } from 'lmdb';

/**
 * How the index's large databases (a record per blob, per manifest, per tag)
 * are packed since schema 2: binary digests instead of hex text, fixed-width
 * numbers instead of MessagePack maps, media types as one byte. A year of
 * office pulls (100,000 blobs, 100,000 tags) then fits in a third of the
 * pages, so a read touches, and keeps resident, a third of the memory.
 */

/** Epoch milliseconds and byte sizes: 6 bytes, big-endian (sorts as numbers; up to 2^48 - 1). */
const NUMBER_BYTES = 6;
const MAX_NUMBER = 2 ** 48 - 1;

/** The first byte of a digest key: which algorithm the raw hash bytes after it are, or text (anything else). */
const DIGEST_TEXT = 0;
const DIGEST_ALGORITHMS = [
  { code: 1, name: 'sha256', hexLength: 64 },
  { code: 2, name: 'sha512', hexLength: 128 },
] as const;

/** The media types nearly every record has, as one byte; any other is stored as text after a 0. */
const MEDIA_TYPES = [
  '',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.docker.distribution.manifest.v1+json',
] as const;
const MEDIA_TYPE_TEXT = 0;
const HEX = /^[0-9a-f]*$/;

function writeNumber(target: Buffer, offset: number, value: number): void {
  target.writeUIntBE(Math.min(Math.max(Math.floor(value), 0), MAX_NUMBER), offset, NUMBER_BYTES);
}

function readNumber(source: Buffer, offset: number): number {
  return source.readUIntBE(offset, NUMBER_BYTES);
}

/** "sha256:<64 hex>" as 33 bytes (1 + the hash), sorting as the text does; an unusual digest as its text after a 0. */
export function digestKey(digest: string): Buffer {
  const separator = digest.indexOf(':');
  const encoded = digest.slice(separator + 1);
  const algorithm = DIGEST_ALGORITHMS.find((a) => a.name === digest.slice(0, separator));
  if (algorithm && encoded.length === algorithm.hexLength && HEX.test(encoded)) return Buffer.concat([Buffer.of(algorithm.code), Buffer.from(encoded, 'hex')]);
  return Buffer.concat([Buffer.of(DIGEST_TEXT), Buffer.from(digest, 'utf8')]);
}

export function digestOfKey(key: Buffer): string {
  const algorithm = DIGEST_ALGORITHMS.find((a) => a.code === key[0]);
  return algorithm ? `${algorithm.name}:${key.toString('hex', 1)}` : key.toString('utf8', 1);
}

/**
 * The key range of a store folder ("sha256:ab", the first two hex digits):
 * every digest key starting with that algorithm byte and hash byte.
 */
export function folderRange(folder: string): { start: Buffer; end: Buffer } {
  const separator = folder.indexOf(':');
  const algorithm = DIGEST_ALGORITHMS.find((a) => a.name === folder.slice(0, separator));
  const hex = folder.slice(separator + 1, separator + 3);
  if (!algorithm || hex.length !== 2 || !HEX.test(hex)) {
    const start = digestKey(folder);
    return { start, end: Buffer.concat([start, Buffer.of(0xff)]) };
  }
  const byte = Number.parseInt(hex, 16);
  return { start: Buffer.of(algorithm.code, byte), end: byte === 0xff ? Buffer.of(algorithm.code + 1) : Buffer.of(algorithm.code, byte + 1) };
}

function mediaTypeBytes(mediaType: string): Buffer {
  const code = MEDIA_TYPES.indexOf(mediaType as (typeof MEDIA_TYPES)[number]);
  return code > 0 ? Buffer.of(code) : Buffer.concat([Buffer.of(MEDIA_TYPE_TEXT), Buffer.from(mediaType, 'utf8')]);
}

function readMediaType(source: Buffer, offset: number): string {
  const code = source[offset] ?? MEDIA_TYPE_TEXT;
  return code === MEDIA_TYPE_TEXT ? source.toString('utf8', offset + 1) : (MEDIA_TYPES[code] ?? '');
}

export interface Codec<T> {
  encode(value: T): Buffer;
  decode(bytes: Buffer): T;
}

export const DIGEST: Codec<string> = { encode: digestKey, decode: digestOfKey };

/** A blob's record: size, last access (12 bytes). */
export const BLOB: Codec<{ size: number; lastAccess: number }> = {
  encode(record) {
    const bytes = Buffer.alloc(2 * NUMBER_BYTES);
    writeNumber(bytes, 0, record.size);
    writeNumber(bytes, NUMBER_BYTES, record.lastAccess);
    return bytes;
  },
  decode: (bytes) => ({ size: readNumber(bytes, 0), lastAccess: readNumber(bytes, NUMBER_BYTES) }),
};

/** The eviction order's key: last access, then the digest (its value is empty). */
export const LRU_KEY: Codec<[number, string]> = {
  encode([lastAccess, digest]) {
    const key = digestKey(digest);
    const bytes = Buffer.alloc(NUMBER_BYTES + key.length);
    writeNumber(bytes, 0, lastAccess);
    key.copy(bytes, NUMBER_BYTES);
    return bytes;
  },
  decode: (bytes) => [readNumber(bytes, 0), digestOfKey(bytes.subarray(NUMBER_BYTES))],
};

export const NOTHING: Codec<null> = { encode: () => Buffer.alloc(0), decode: () => null };

/** A manifest's record: size, media type. */
export const MANIFEST: Codec<{ mediaType: string; size: number }> = {
  encode(record) {
    const size = Buffer.alloc(NUMBER_BYTES);
    writeNumber(size, 0, record.size);
    return Buffer.concat([size, mediaTypeBytes(record.mediaType)]);
  },
  decode: (bytes) => ({ mediaType: readMediaType(bytes, NUMBER_BYTES), size: readNumber(bytes, 0) }),
};

/** A tag's record: when checked, the digest (its key form, length first), the media type. */
export const TAG: Codec<{ digest: string; mediaType: string; checkedAt: number }> = {
  encode(record) {
    const digest = digestKey(record.digest);
    const head = Buffer.alloc(NUMBER_BYTES + 2);
    writeNumber(head, 0, record.checkedAt);
    head.writeUInt16BE(digest.length, NUMBER_BYTES);
    return Buffer.concat([head, digest, mediaTypeBytes(record.mediaType)]);
  },
  decode(bytes) {
    const length = bytes.readUInt16BE(NUMBER_BYTES);
    const start = NUMBER_BYTES + 2;
    return { digest: digestOfKey(bytes.subarray(start, start + length)), mediaType: readMediaType(bytes, start + length), checkedAt: readNumber(bytes, 0) };
  },
};

/** Keys kept as they are (strings, ordered by lmdb-js's own key encoding). */
export function sameKey<K extends string>(): Codec<K> {
  return { encode: (key) => key as unknown as Buffer, decode: (key) => key as unknown as K };
}

type RawKey = Buffer | string;

/**
 * A database whose records are packed by codecs, read and written through
 * the same few calls as an lmdb-js Database (get, put, remove, ranges).
 */
export class PackedDatabase<K, V> {
  constructor(readonly raw: Database<Buffer, RawKey>, private readonly keys: Codec<K>, private readonly values: Codec<V>) {}

  get(key: K): V | undefined {
    const bytes = this.raw.get(this.keys.encode(key));
    return bytes === undefined ? undefined : this.values.decode(bytes);
  }

  doesExist(key: K): boolean {
    return this.raw.doesExist(this.keys.encode(key));
  }

  put(key: K, value: V): Promise<boolean> {
    return this.raw.put(this.keys.encode(key), this.values.encode(value));
  }

  remove(key: K): Promise<boolean> {
    return this.raw.remove(this.keys.encode(key));
  }

  *getKeys(options: PackedRange<K> = {}): Generator<K> {
    for (const key of this.raw.getKeys(this.rawRange(options))) yield this.keys.decode(key as Buffer);
  }

  *getRange(options: PackedRange<K> = {}): Generator<{ key: K; value: V }> {
    for (const { key, value } of this.raw.getRange(this.rawRange(options))) yield { key: this.keys.decode(key as Buffer), value: this.values.decode(value) };
  }

  getCount(options: PackedRange<K> = {}): number {
    return this.raw.getCount(this.rawRange(options));
  }

  getStats(): unknown {
    return this.raw.getStats();
  }

  /** Raw bounds (a folder's range) pass through as they are. */
  private rawRange(options: PackedRange<K>): RangeOptions {
    const bound = (value: K | RawBound): RawKey => (value instanceof RawBound ? value.bytes : (this.keys.encode(value) as RawKey));
    return {
      ...(options.start !== undefined ? { start: bound(options.start) } : {}),
      ...(options.end !== undefined ? { end: bound(options.end) } : {}),
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
    };
  }
}

/** A range bound given as raw key bytes (a folder's range) rather than a key. */
export class RawBound {
  constructor(readonly bytes: RawKey) {}
}

export interface PackedRange<K> {
  start?: K | RawBound;
  end?: K | RawBound;
  limit?: number;
}
