import type { BlobBytes, BlobSource, BlobWant } from '../core/fetch/blob-source.js';
import type { PeerClient } from './peer-client.js';
import type { Peer } from './peer-set.js';

/** What the mesh hears about one peer's bytes: counted as they arrive, a peer that broke off, a peer whose bytes were wrong. */
export interface PeerSourceEvents {
  onBytes(peer: Peer, bytes: number): void;
  onFailed(peer: Peer, reason: Error): void;
  onRejected(peer: Peer, digest: string, reason: Error): void;
}

/**
 * One member as a source of core's blob pipeline (core/fetch/blob-source.ts):
 * bytes of a digest from an offset on, nothing else. It never verifies,
 * stores or paces: the ingest verifies every byte, whoever sent it. It is
 * untrusted: clients see its bytes only once the blob verified, a peer that
 * vanishes midway is continued by the next source with Range, and wrong bytes
 * start the blob over with the next source.
 */
export class PeerBlobSource implements BlobSource {
  readonly kind = 'peer' as const;
  readonly untrusted = true;
  readonly name: string;

  constructor(readonly peer: Peer, private readonly client: PeerClient, private readonly events: PeerSourceEvents) {
    this.name = `peer ${peer.key}`;
  }

  async open(want: BlobWant): Promise<BlobBytes | undefined> {
    // A peer that failed or was dropped since it was chosen is not asked again in this transfer.
    if (this.peer.state !== 'live') return undefined;
    const blob = await this.client.openBlob(this.peer.address, want.digest, want.offset, want.signal);
    if (!blob) return undefined;
    return {
      start: blob.start,
      size: blob.size,
      body: this.count(blob.body),
      cancel: () => blob.body.destroy(),
      from: this.name,
    };
  }

  failed(_digest: string, reason: Error): void {
    this.events.onFailed(this.peer, reason);
  }

  rejected(digest: string, reason: Error): void {
    this.events.onRejected(this.peer, digest, reason);
  }

  private async *count(body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of body) {
      this.events.onBytes(this.peer, chunk.length);
      yield chunk;
    }
  }
}
