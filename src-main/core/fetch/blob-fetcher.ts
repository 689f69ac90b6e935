import type { Writable } from 'node:stream';
import { sendFileRange } from '../store/send-file.js';
import type { BlobStore } from '../store/blob-store.js';
import type { Ingest } from '../store/ingest.js';
import { sendFollowing } from '../store/follow.js';
import type { MetadataIndex } from '../store/metadata.js';
import type { Telemetry, TransferTracker } from '../telemetry/telemetry.js';
import { headerValue, type RegistryClient, type UpstreamResponse } from '../upstream/registry-client.js';
import { errorForUpstreamFailure, errorForUpstreamStatus } from './upstream-errors.js';

export type TransferKind = 'pull' | 'prefetch';

/** Paces upstream bytes: the bandwidth budget plugs in here (prefetch yields to pulls). */
export type Pacer = (bytes: number, kind: TransferKind) => Promise<void>;

/** Bytes of one blob, from the store or from a transfer still in flight. */
export interface BlobSource {
  digest: string;
  /** Undefined only while a chunked upstream transfer is still running. */
  size?: number;
  /** 'hit': served from the store; 'miss': this request joined or started an upstream transfer. */
  cache: 'hit' | 'miss';
  /**
   * Writes bytes [start, end] (inclusive; end may be Infinity when the size is unknown) to the destination
   * from reused buffers (see sendRange), resolving once the last write completed; does not end it. A failed
   * transfer rejects, so the caller can abort the response.
   */
  sendTo(destination: Writable, start: number, end: number, onBytes: (bytes: number) => void): Promise<void>;
  /** Resolves when the blob is complete and verified (immediately for a hit). */
  complete(): Promise<void>;
}

interface Transfer {
  ingest: Ingest;
  tracker: TransferTracker;
  done: Promise<void>;
}

export interface BlobRequest {
  client: RegistryClient;
  repository: string;
  digest: string;
  kind: TransferKind;
}

/**
 * Joins the store and the upstream with single flight: however many clients
 * ask for a digest at once, one upstream transfer runs, and every client
 * follows it through the ingest file on disk.
 */
export class BlobFetcher {
  private readonly inflight = new Map<string, Promise<Transfer>>();
  /** Open read streams per digest: eviction never deletes what someone is reading. */
  private readonly readers = new Map<string, number>();

  constructor(
    private readonly store: BlobStore,
    private readonly metadata: MetadataIndex,
    private readonly telemetry: Telemetry,
    private pace: Pacer = async () => undefined,
  ) {}

  /** Installs the bandwidth budget (the prefetch layer owns it; pulls report through it so prefetch can yield). */
  setPacer(pace: Pacer): void {
    this.pace = pace;
  }

  async open(req: BlobRequest): Promise<BlobSource> {
    const size = await this.store.sizeOf(req.digest);
    if (size !== undefined) {
      this.metadata.touch(req.digest, req.client.name, req.repository);
      return this.cachedSource(req.digest, size);
    }
    let transfer = this.inflight.get(req.digest);
    if (!transfer) {
      transfer = this.startTransfer(req);
      this.inflight.set(req.digest, transfer);
      transfer.catch(() => this.inflight.delete(req.digest));
    }
    return this.followerSource(req.digest, await transfer);
  }

  /** How large a blob is without fetching it: the store, a transfer in flight, or an upstream HEAD. */
  async size(req: Omit<BlobRequest, 'kind'>): Promise<number> {
    const cached = await this.store.sizeOf(req.digest);
    if (cached !== undefined) return cached;
    // A transfer in flight already knows (when the upstream announced it): no second round trip for the same answer.
    const joined = await this.inflight.get(req.digest)?.catch(() => undefined);
    if (joined?.ingest.expectedSize !== undefined) return joined.ingest.expectedSize;
    const what = `blob ${req.digest} of ${req.repository}`;
    let response: UpstreamResponse;
    try {
      response = await req.client.request({ method: 'HEAD', ...blobPath(req), followRedirects: true });
    } catch (error) {
      throw errorForUpstreamFailure(error, what);
    }
    await response.body.dump();
    const length = Number(headerValue(response.headers['content-length']));
    if (response.status !== 200) throw errorForUpstreamStatus(response, 'blob', what);
    if (!Number.isSafeInteger(length)) throw errorForUpstreamFailure(new Error('upstream sent no Content-Length'), what);
    return length;
  }

  isInFlight(digest: string): boolean {
    return this.inflight.has(digest);
  }

  /** True while the blob is being ingested or streamed to a client: not to be evicted. */
  isBusy(digest: string): boolean {
    return this.inflight.has(digest) || (this.readers.get(digest) ?? 0) > 0;
  }

  /** Counts a reader for as long as `work` runs (eviction spares the blob meanwhile). */
  private async reading<T>(digest: string, work: () => Promise<T>): Promise<T> {
    this.readers.set(digest, (this.readers.get(digest) ?? 0) + 1);
    try {
      return await work();
    } finally {
      const left = (this.readers.get(digest) ?? 1) - 1;
      if (left > 0) this.readers.set(digest, left);
      else this.readers.delete(digest);
    }
  }

  private cachedSource(digest: string, size: number): BlobSource {
    const path = this.store.pathOf(digest);
    return {
      digest,
      size,
      cache: 'hit',
      sendTo: (destination, start, end, onBytes) => this.reading(digest, () => sendFileRange(path, start, Math.min(end, size - 1), destination, onBytes)),
      complete: () => Promise.resolve(),
    };
  }

  /** A source that follows the ingest on disk; each response being sent counts as a client waiting on the transfer. */
  private followerSource(digest: string, transfer: Transfer): BlobSource {
    return {
      digest,
      size: transfer.ingest.expectedSize,
      cache: 'miss',
      sendTo: async (destination, start, end, onBytes) => {
        transfer.tracker.status.clients += 1;
        try {
          await this.reading(digest, () => sendFollowing(transfer.ingest, start, end, destination, onBytes));
        } finally {
          transfer.tracker.status.clients -= 1;
        }
      },
      complete: () => transfer.done,
    };
  }

  private async startTransfer(req: BlobRequest): Promise<Transfer> {
    const what = `blob ${req.digest} of ${req.repository}`;
    let response: UpstreamResponse;
    try {
      response = await req.client.request({ method: 'GET', ...blobPath(req), followRedirects: true });
    } catch (error) {
      throw errorForUpstreamFailure(error, what);
    }
    if (response.status !== 200) {
      await response.body.dump();
      throw errorForUpstreamStatus(response, 'blob', what);
    }
    const length = Number(headerValue(response.headers['content-length']));
    const ingest = await this.store.createIngest(req.digest, Number.isSafeInteger(length) ? length : undefined);
    const tracker = this.telemetry.startTransfer({
      registry: req.client.name, repository: req.repository, digest: req.digest,
      bytesTotal: ingest.expectedSize, clients: 0, kind: req.kind,
    });
    const done = this.pump(response, ingest, tracker, req);
    done.catch(() => undefined); // failures reach clients through the ingest
    return { ingest, tracker, done };
  }

  /** Copies the upstream body into the ingest; on any failure every follower aborts. */
  private async pump(response: UpstreamResponse, ingest: Ingest, tracker: TransferTracker, req: BlobRequest): Promise<void> {
    try {
      for await (const chunk of response.body) {
        await this.pace((chunk as Buffer).length, req.kind);
        await ingest.write(chunk as Buffer);
        tracker.progress(ingest.bytesWritten);
      }
      await ingest.finish();
      this.metadata.touch(req.digest, req.client.name, req.repository);
      tracker.finish(true);
    } catch (error) {
      response.body.destroy();
      await ingest.fail(error as Error);
      tracker.finish(false);
      this.telemetry.note('warning', `Transfer of ${req.repository}@${req.digest.slice(0, 19)} from ${req.client.name} failed: ${(error as Error).message}`, req.client.name);
      throw error;
    } finally {
      this.inflight.delete(req.digest);
    }
  }
}

function blobPath(req: Omit<BlobRequest, 'kind'>) {
  return { path: `/v2/${req.repository}/blobs/${req.digest}`, scope: `repository:${req.repository}:pull` };
}
