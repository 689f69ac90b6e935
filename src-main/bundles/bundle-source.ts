import type { Readable } from 'node:stream';
import type { BlobBytes, BlobSource, BlobWant } from '../core/fetch/blob-source.js';

/**
 * One blob of a bundle as a source of the core's blob pipeline (DESIGN.md,
 * "One blob pipeline"): the fetcher verifies, stores and counts its bytes
 * like any other source's. The import asks for it in the fetcher's
 * resumable mode, so the bytes of a blob an import did not finish (a drive
 * pulled out, a truncated copy, Layover stopped) are kept and the next
 * import goes on from there: a bundle directory's file is read from that
 * byte on; a tar, read front to back, hands its entry over from byte 0 and
 * the fetcher skips what it already has (read again, never written again).
 */
export class BundleBlobSource implements BlobSource {
  readonly kind = 'bundle' as const;
  readonly name: string;
  /** Whether the fetcher took the bytes (else the entry is still to be skipped). */
  opened = false;
  /** The byte the fetcher asked to start from (bytes before it were kept from an earlier import). */
  resumedAt = 0;

  constructor(
    private readonly digest: string,
    private readonly entry: { open(offset?: number): { start: number; stream: Readable } },
    /** The blob's size as the bundle's contents name it (an entry cut short holds fewer bytes). */
    private readonly size: number,
    bundle: string,
    private readonly onBytes: (bytes: number) => void,
  ) {
    this.name = `bundle ${bundle}`;
  }

  async open(want: BlobWant): Promise<BlobBytes | undefined> {
    if (want.digest !== this.digest || this.opened) return undefined;
    this.opened = true;
    this.resumedAt = want.offset;
    const { start, stream } = this.entry.open(want.offset);
    // Progress counts the blob's bytes: those kept from before are done already.
    if (start > 0) this.onBytes(start);
    const onBytes = this.onBytes;
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const chunk of stream) {
        onBytes((chunk as Buffer).length);
        yield chunk as Buffer;
      }
    }
    return { start, size: this.size, body: counted(), cancel: () => stream.destroy(), from: this.name };
  }
}
