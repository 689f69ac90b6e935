import type { Readable } from 'node:stream';
import type { BlobBytes, BlobSource, BlobWant } from '../core/fetch/blob-source.js';

/**
 * One blob of a bundle as a source of the core's blob pipeline (DESIGN.md,
 * "One blob pipeline"): the fetcher verifies, stores and counts its bytes
 * like any other source's. A tar is read front to back, so the source hands
 * over its entry once, from byte 0; the fetcher skips what a kept partial
 * file already has.
 */
export class BundleBlobSource implements BlobSource {
  readonly kind = 'bundle' as const;
  readonly name: string;
  /** Whether the fetcher took the bytes (else the entry is still to be skipped). */
  opened = false;

  constructor(
    private readonly digest: string,
    private readonly entry: { size: number; open(): Readable },
    bundle: string,
    private readonly onBytes: (bytes: number) => void,
  ) {
    this.name = `bundle ${bundle}`;
  }

  async open(want: BlobWant): Promise<BlobBytes | undefined> {
    if (want.digest !== this.digest || this.opened) return undefined;
    this.opened = true;
    const stream = this.entry.open();
    const onBytes = this.onBytes;
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const chunk of stream) {
        onBytes((chunk as Buffer).length);
        yield chunk as Buffer;
      }
    }
    return { start: 0, size: this.entry.size, body: counted(), cancel: () => stream.destroy(), from: this.name };
  }
}
