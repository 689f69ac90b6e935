import type { BlobBytes, BlobSource, BlobWant } from '../core/fetch/blob-source.js';
import type { PeerClient } from './peer-client.js';
import type { Peer } from './peer-set.js';

/**
 * One member as a source of core's blob pipeline (core/fetch/blob-source.ts):
 * bytes of a digest from an offset on, nothing else. It never verifies,
 * stores or paces: the ingest verifies every byte, whoever sent it.
 */
export class PeerBlobSource implements BlobSource {
  readonly kind = 'peer' as const;
  readonly name: string;

  constructor(readonly peer: Peer, private readonly client: PeerClient, private readonly onBytes: (bytes: number) => void = () => undefined) {
    this.name = `peer ${peer.key}`;
  }

  async open(want: BlobWant): Promise<BlobBytes | undefined> {
    const blob = await this.client.openBlob(this.peer.address, want.digest, want.offset, want.signal);
    if (!blob) return undefined;
    const counted = this.count(blob.body);
    return {
      start: blob.start,
      size: blob.size,
      body: counted,
      cancel: () => blob.body.destroy(),
      from: this.name,
    };
  }

  private async *count(body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of body) {
      this.onBytes(chunk.length);
      yield chunk;
    }
  }
}
