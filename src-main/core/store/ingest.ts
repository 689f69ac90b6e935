import { EventEmitter } from 'node:events';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import type { Hash } from 'node:crypto';
import { hasherFor, requireDigest } from './digest.js';

export type IngestState = 'writing' | 'verified' | 'failed';

/** Thrown when the bytes that arrived do not hash to the digest they were asked for. */
export class DigestMismatchError extends Error {
  constructor(readonly expected: string, readonly actual: string) {
    super(`digest mismatch: expected ${expected}, got ${actual}`);
    this.name = 'DigestMismatchError';
  }
}

/**
 * One blob being written into the store. Bytes are hashed as they are
 * written; the file becomes visible under its digest only after the hash
 * matches. Readers follow it through the file on disk (see sendFollowing), so
 * the bytes are never held in memory for them.
 */
export class Ingest extends EventEmitter {
  state: IngestState = 'writing';
  bytesWritten = 0;
  error?: Error;
  private readonly hash: Hash;
  private handle?: FileHandle;

  constructor(
    readonly digest: string,
    readonly path: string,
    private readonly finalPath: string,
    /** Known once the upstream has sent its headers; undefined for a chunked upstream response. */
    public expectedSize?: number,
  ) {
    super();
    this.setMaxListeners(0);
    this.hash = hasherFor(requireDigest(digest));
  }

  /** Where a reader finds the bytes: the ingest file until it is renamed into place. */
  currentPath(): string {
    return this.state === 'verified' ? this.finalPath : this.path;
  }

  async start(): Promise<void> {
    // Owner-only from the first byte: the rename into place keeps the mode.
    this.handle = await open(this.path, 'wx', 0o600);
  }

  /**
   * Opens a kept partial file instead of a new one (a resumable transfer):
   * the bytes already there are hashed again, so the digest check covers
   * them, and writing continues after them. More bytes than the blob has mean
   * the file is not this blob's prefix: it starts over from nothing.
   */
  async resume(): Promise<void> {
    const kept = (await stat(this.path).catch(() => undefined))?.size ?? 0;
    if (kept > 0 && (this.expectedSize === undefined || kept <= this.expectedSize)) {
      for await (const chunk of createReadStream(this.path, { end: kept - 1, highWaterMark: 1024 * 1024 })) this.hash.update(chunk as Buffer);
      this.bytesWritten = kept;
    }
    this.handle = await open(this.path, this.bytesWritten > 0 ? 'r+' : 'w', 0o600);
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.state !== 'writing' || !this.handle) throw new Error('ingest is not writable');
    if (this.expectedSize !== undefined && this.bytesWritten + chunk.length > this.expectedSize) {
      throw new Error(`upstream sent more than the ${this.expectedSize} bytes it announced`);
    }
    this.hash.update(chunk);
    let offset = 0;
    while (offset < chunk.length) {
      const { bytesWritten } = await this.handle.write(chunk, offset, chunk.length - offset, this.bytesWritten + offset);
      offset += bytesWritten;
    }
    this.bytesWritten += chunk.length;
    this.emit('progress', this.bytesWritten);
  }

  /** Verifies size and digest, makes the blob durable, and moves it into place. */
  async finish(): Promise<void> {
    const handle = this.handle!;
    try {
      if (this.expectedSize !== undefined && this.bytesWritten !== this.expectedSize) {
        throw new Error(`upstream sent ${this.bytesWritten} of ${this.expectedSize} bytes`);
      }
      const actual = `${requireDigest(this.digest).algorithm}:${this.hash.digest('hex')}`;
      if (actual !== this.digest) throw new DigestMismatchError(this.digest, actual);
      await handle.sync();
      await handle.close();
      this.handle = undefined;
      await rename(this.path, this.finalPath);
    } catch (error) {
      await this.fail(error as Error);
      throw error;
    }
    this.state = 'verified';
    this.emit('verified');
  }

  /**
   * Stops a resumable ingest and keeps its bytes for a later resume(): every
   * reader following it errors (as on any stop), and nothing is stored yet.
   */
  async suspend(error: Error): Promise<void> {
    if (this.state !== 'writing') return;
    this.state = 'failed';
    this.error = error;
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    this.emit('failed', error);
  }

  /** Aborts the ingest: every reader following it errors, and nothing is stored. */
  async fail(error: Error): Promise<void> {
    if (this.state !== 'writing') return;
    this.state = 'failed';
    this.error = error;
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    await rm(this.path, { force: true });
    this.emit('failed', error);
  }

  /** Resolves at the next change of bytes or state. */
  changed(): Promise<void> {
    if (this.state !== 'writing') return Promise.resolve();
    return new Promise((resolve) => {
      const settle = (): void => {
        for (const event of INGEST_EVENTS) this.off(event, settle);
        resolve();
      };
      for (const event of INGEST_EVENTS) this.on(event, settle);
    });
  }
}

const INGEST_EVENTS = ['progress', 'verified', 'failed'] as const;
