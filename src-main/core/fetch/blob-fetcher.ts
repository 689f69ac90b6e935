import type { Writable } from 'node:stream';
import { sendFileRange } from '../store/send-file.js';
import type { BlobStore } from '../store/blob-store.js';
import { DigestMismatchError, type Ingest } from '../store/ingest.js';
import { sendFollowing } from '../store/follow.js';
import type { MetadataIndex } from '../store/metadata.js';
import type { Telemetry, TransferTracker } from '../telemetry/telemetry.js';
import type { PacedKind, Pacer } from '../upstream/bandwidth.js';
import type { RegistryClient } from '../upstream/registry-client.js';
import { RepositoryClient, ResumeRefusedError } from '../upstream/repository-client.js';
import { errorForUpstreamFailure } from '../upstream/upstream-errors.js';
import type { BlobBytes, BlobSource, BlobSourceProvider, BlobSourceQuery, BlobWant } from './blob-source.js';
import { PartialBlobs } from './partial-blobs.js';
import { UpstreamBlobSource } from './upstream-source.js';

/** Why the bytes are fetched: a client waits (pull), or the cache is filled ahead (prefetch). */
export type TransferKind = 'pull' | 'prefetch';

/** Bytes of one blob for a client: from the store, or following a transfer still in flight. */
export interface BlobHandle {
  digest: string;
  /** Undefined only while a chunked upstream transfer is still running (see sized()). */
  size?: number;
  /** 'hit': served from the store; 'miss': this request joined or started a transfer. */
  cache: 'hit' | 'miss';
  /**
   * Writes bytes [start, end] (inclusive; end may be Infinity when the size is unknown) to the destination
   * from reused buffers (see sendRange), resolving once the last write completed; does not end it. A failed
   * transfer rejects, so the caller can abort the response.
   */
  sendTo(destination: Writable, start: number, end: number, onBytes: (bytes: number) => void): Promise<void>;
  /** Resolves when the blob is complete and verified (immediately for a hit). */
  complete(): Promise<void>;
  /**
   * This handle with its size: at once, or, for a chunked upstream answer, once the transfer it follows has
   * finished (a Range needs the size). The same transfer is followed: nothing is asked twice.
   */
  sized(): Promise<BlobHandle & { size: number }>;
}

export interface BlobRequest {
  client: RegistryClient;
  repository: string;
  digest: string;
  kind: TransferKind;
  /** The size the manifest names, when the caller knows it (prefetch): no source may send more. */
  size?: number;
  /**
   * Keep the bytes across a stop, a failure or a restart (a partial file) and continue them with Range next
   * time. Prefetch asks it for large blobs; a transfer also resumes whenever bytes of its digest are kept.
   */
  resumable?: boolean;
}

interface Transfer {
  /** Replaced only when an untrusted source's bytes proved wrong and the blob starts over with the next source. */
  ingest: Ingest;
  /** The source whose bytes arrive now (the office mesh tells its peers whom it follows). */
  source?: BlobSource;
  /** Its first source was untrusted (a peer): clients get the bytes only once the blob verified. */
  held: boolean;
  tracker: TransferTracker;
  done: Promise<void>;
  /** 'pull' from the moment a client waits on it: its bytes then go at a pull's pace and a job's stop no longer stops them. */
  kind: TransferKind;
  resumable: boolean;
  /** The byte this run started at (after bytes kept from before). */
  offset: number;
  registry: string;
  /** Sources that wrote bytes into the ingest: told if the digest check fails. */
  contributors: Set<BlobSource>;
  /** Resolves when a client joins: a prefetch chunk waiting for its turn goes at once then. */
  joined: Promise<void>;
  join: () => void;
}

/** The fields every transfer starts with. */
function newTransfer(fields: Omit<Transfer, 'contributors' | 'joined' | 'join' | 'done' | 'source'>): Transfer {
  let join = (): void => undefined;
  const joined = new Promise<void>((resolve) => (join = resolve));
  return { ...fields, contributors: new Set(), joined, join, done: Promise.resolve() };
}

/** A source that answered, and where it stands in the list of sources. */
interface Opened {
  source: BlobSource;
  bytes: BlobBytes;
  index: number;
}

/** A source sent a size or bytes the blob does not have: it was told (rejected), the bytes are not used. */
class RejectedBytes extends Error {}

/** The pacer threw at a chunk: the transfer is stopped on purpose (a yield to a pull, a paused job), not failed. */
class Stopped extends Error {
  constructor(readonly reason: unknown) {
    super((reason as Error)?.message ?? String(reason));
  }
}

const UNPACED: Pacer = { pace: async () => undefined, notePullTransfer: () => undefined };

/**
 * The one blob pipeline (DESIGN.md). Every blob that enters the store comes
 * through here, from a source (blob-source.ts: the upstream, a LAN peer, a
 * bundle), through the store's verified ingest, with single flight: however
 * many pulls and prefetch jobs ask for a digest at once, one transfer runs,
 * and every client follows it through the ingest file on disk.
 *
 * Its resumable mode keeps the bytes of a stopped transfer in a partial file
 * (partial-blobs.ts) and continues them with a Range request, from the same
 * source or the next one. Sources are chosen per blob by the providers added
 * (the office mesh elects one fetcher per digest there); an untrusted source
 * (a LAN peer) that vanishes midway is continued by the next one with Range,
 * and its bytes reach clients only once verified. The pacer is told the
 * registry and the kind of every chunk, and when a pull's transfer starts and ends.
 */
export class BlobFetcher {
  /** Resumable transfers' kept bytes. */
  readonly partials: PartialBlobs;
  private readonly inflight = new Map<string, Promise<Transfer>>();
  /** Open read streams per digest: eviction never deletes what someone is reading. */
  private readonly readers = new Map<string, number>();
  private readonly providers: BlobSourceProvider[] = [];
  /** The transfers of inflight once their source answered, readable at once (the mesh answers its peers from them). */
  private readonly running = new Map<string, Transfer>();

  constructor(
    private readonly store: BlobStore,
    private readonly metadata: MetadataIndex,
    private readonly telemetry: Telemetry,
    private readonly pacer: Pacer = UNPACED,
  ) {
    this.partials = new PartialBlobs(store.dataDir);
  }

  /** Adds sources tried before the upstream, for every blob from now on (blob-source.ts); returns the function that removes them. */
  addSources(provider: BlobSourceProvider): () => void {
    this.providers.push(provider);
    return () => {
      const index = this.providers.indexOf(provider);
      if (index >= 0) this.providers.splice(index, 1);
    };
  }

  /** The ingest of a transfer in flight (peers follow it), once its source has answered. */
  async inflightIngest(digest: string): Promise<Ingest | undefined> {
    return (await this.inflight.get(digest)?.catch(() => undefined))?.ingest;
  }

  /** The source the transfer of this digest takes its bytes from now; undefined while none runs or none answered yet. */
  transferSource(digest: string): BlobSource | undefined {
    return this.running.get(digest)?.source;
  }

  /** The blob from the store, or following the one transfer of it (started now if none runs). */
  async open(req: BlobRequest): Promise<BlobHandle> {
    const size = await this.store.sizeOf(req.digest);
    if (size !== undefined) {
      this.metadata.touch(req.digest, req.client.name, req.repository);
      return this.cachedHandle(req.digest, size);
    }
    const transfer = await this.join(req);
    if (req.kind === 'pull') this.becomePull(transfer);
    return this.followerHandle(req.digest, transfer);
  }

  /** How large a blob is without fetching it: the store, a transfer in flight, or an upstream HEAD. */
  async size(req: Omit<BlobRequest, 'kind'>): Promise<number> {
    const cached = await this.store.sizeOf(req.digest);
    if (cached !== undefined) return cached;
    // A transfer in flight already knows (when its source announced it): no second round trip for the same answer.
    const joined = await this.inflight.get(req.digest)?.catch(() => undefined);
    if (joined?.ingest.expectedSize !== undefined) return joined.ingest.expectedSize;
    return new RepositoryClient(req.client, req.repository).blobSize(req.digest);
  }

  isInFlight(digest: string): boolean {
    return this.inflight.has(digest);
  }

  /** True while the blob is being ingested or streamed to a client: not to be evicted. */
  isBusy(digest: string): boolean {
    return this.inflight.has(digest) || (this.readers.get(digest) ?? 0) > 0;
  }

  /** The transfer of this digest: the one running, or a new one (single flight). */
  private join(req: BlobRequest): Promise<Transfer> {
    const running = this.inflight.get(req.digest);
    if (running) return running;
    // Called as the transfer ends, before anyone awaiting it hears: a request after that starts afresh (or hits).
    const release = () => {
      if (this.inflight.get(req.digest) === started) this.inflight.delete(req.digest);
    };
    const started = this.startTransfer(req, release);
    this.inflight.set(req.digest, started);
    started.catch(release);
    return started;
  }

  /** A client waits on this transfer now: it goes at a pull's pace, and prefetch of its registry yields. */
  private becomePull(transfer: Transfer): void {
    if (transfer.kind === 'pull' || transfer.ingest.state !== 'writing') return;
    transfer.kind = 'pull';
    transfer.tracker.status.kind = 'pull';
    transfer.join();
    this.pacer.notePullTransfer(transfer.registry, transfer.tracker.status.id, false);
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

  private cachedHandle(digest: string, size: number): BlobHandle & { size: number } {
    const path = this.store.pathOf(digest);
    const handle: BlobHandle & { size: number } = {
      digest,
      size,
      cache: 'hit',
      sendTo: (destination, start, end, onBytes) => this.reading(digest, () => sendFileRange(path, start, Math.min(end, size - 1), destination, onBytes)),
      complete: () => Promise.resolve(),
      sized: () => Promise.resolve(handle),
    };
    return handle;
  }

  /** A handle that follows the ingest on disk; each response being sent counts as a client waiting on the transfer. */
  private followerHandle(digest: string, transfer: Transfer): BlobHandle {
    const handle: BlobHandle = {
      digest,
      ...(transfer.ingest.expectedSize === undefined ? {} : { size: transfer.ingest.expectedSize }),
      cache: 'miss',
      sendTo: async (destination, start, end, onBytes) => {
        transfer.tracker.status.clients += 1;
        try {
          // Bytes from an untrusted source (a peer) are served once verified: wrong ones are never seen.
          if (transfer.held) await transfer.done.catch(() => undefined);
          await this.reading(digest, () => sendFollowing(transfer.ingest, start, end, destination, onBytes));
        } finally {
          transfer.tracker.status.clients -= 1;
        }
      },
      complete: () => transfer.done,
      sized: async () => {
        if (transfer.ingest.expectedSize === undefined) await transfer.done;
        return { ...handle, size: transfer.ingest.expectedSize ?? transfer.ingest.bytesWritten };
      },
    };
    return handle;
  }

  /**
   * The sources for a blob, in order: those added (peers, bundles), then the upstream, always last; and the
   * blob's size when a provider had the upstream's HEAD say it (or the request knew it).
   */
  private async sourcesFor(req: BlobRequest): Promise<{ sources: BlobSource[]; size?: number }> {
    let head: Promise<number> | undefined;
    const query: BlobSourceQuery = {
      registry: req.client.name, repository: req.repository, digest: req.digest, ...(req.size === undefined ? {} : { size: req.size }),
      upstreamSize: () => (head ??= new RepositoryClient(req.client, req.repository).blobSize(req.digest)),
    };
    // A provider that fails has no source for this blob: the next ones and the upstream still do.
    const added = await Promise.all(this.providers.map(async (provider) => provider(query)).map((chosen) => chosen.catch(() => [] as BlobSource[])));
    const size = req.size ?? (await head?.catch(() => undefined));
    return { sources: [...added.flat(), new UpstreamBlobSource(req.client)], ...(size === undefined ? {} : { size }) };
  }

  /**
   * Resolves once a source has answered (so followers know the size), with the
   * transfer's bytes flowing in the background; rejects with the upstream's
   * answer when no source has the blob.
   */
  private async startTransfer(asked: BlobRequest, release: () => void): Promise<Transfer> {
    const { sources, size } = await this.sourcesFor(asked);
    const req: BlobRequest = { ...asked, ...(size === undefined ? {} : { size }) };
    const resumable = req.resumable === true || (await this.partials.size(req.digest)) > 0;
    let ingest: Ingest | undefined;
    if (resumable) {
      await this.partials.open();
      ingest = await this.store.createIngest(req.digest, req.size, this.partials.pathOf(req.digest));
    }
    const stop = new AbortController();
    let opened: Opened | undefined;
    try {
      const complete = ingest?.expectedSize !== undefined && ingest.bytesWritten === ingest.expectedSize;
      if (!complete) opened = await this.openSource(sources, 0, this.want(req, ingest?.bytesWritten ?? 0, stop.signal));
      ingest ??= await this.store.createIngest(req.digest, req.size ?? opened?.bytes.size);
      ingest.expectedSize ??= opened?.bytes.size;
    } catch (error) {
      opened?.bytes.cancel();
      if (ingest) await this.stopIngest(ingest, error as Error, resumable);
      throw error;
    }
    const offset = ingest.bytesWritten;
    const tracker = this.telemetry.startTransfer({
      registry: req.client.name, repository: req.repository, digest: req.digest,
      ...(ingest.expectedSize === undefined ? {} : { bytesTotal: ingest.expectedSize - offset }), clients: 0, kind: req.kind,
      ...(opened?.bytes.servedBy ? { servedBy: opened.bytes.servedBy } : {}),
    });
    const transfer = newTransfer({ ingest, tracker, kind: req.kind, resumable, offset, registry: req.client.name, held: opened?.source.untrusted === true });
    this.running.set(req.digest, transfer);
    if (req.kind === 'pull') this.pacer.notePullTransfer(transfer.registry, tracker.status.id, false);
    transfer.done = this.pump(transfer, req, sources, opened, stop).finally(() => {
      if (this.running.get(req.digest) === transfer) this.running.delete(req.digest);
      release();
    });
    transfer.done.catch(() => undefined); // failures reach clients through the ingest
    return transfer;
  }

  private want(req: BlobRequest, offset: number, signal: AbortSignal): BlobWant {
    return { registry: req.client.name, repository: req.repository, digest: req.digest, offset, signal, ...(req.size === undefined ? {} : { size: req.size }) };
  }

  /** The first source from `from` on that answers; the last error (the upstream's own answer) when none does. */
  private async openSource(sources: BlobSource[], from: number, want: BlobWant, expectedSize?: number): Promise<Opened> {
    let failure: unknown = new Error(`no source has ${want.digest}`);
    for (let index = from; index < sources.length; index++) {
      const source = sources[index]!;
      try {
        const bytes = await source.open(want);
        if (!bytes) continue;
        const expected = want.size ?? expectedSize;
        if (expected !== undefined && bytes.size !== undefined && bytes.size !== expected) {
          bytes.cancel();
          failure = new Error(`${source.name} announced ${bytes.size} bytes for ${want.digest}, not ${expected}`);
          source.rejected?.(want.digest, failure as Error);
          continue;
        }
        if (bytes.start === 0 || bytes.start === want.offset) return { source, bytes, index };
        bytes.cancel();
        failure = new Error(`${source.name} answered from byte ${bytes.start}, not ${want.offset}`);
      } catch (error) {
        if (want.signal.aborted) throw error;
        source.failed?.(want.digest, error as Error);
        failure = error;
      }
    }
    throw failure;
  }

  /**
   * Copies the source's bytes into the ingest. A source that fails midway is
   * continued from the bytes ingested with the next source when the transfer
   * is resumable or the source untrusted (a peer); bytes of untrusted sources
   * that prove wrong start the blob over with the sources after them. Any
   * other failure aborts every follower, and a stop keeps the bytes of a
   * resumable transfer for the next one.
   */
  private async pump(transfer: Transfer, req: BlobRequest, sources: BlobSource[], first: Opened | undefined, stop: AbortController): Promise<void> {
    const what = `blob ${req.digest} of ${req.repository}`;
    let last = first?.index ?? -1;
    try {
      for (let opened = first; ; ) {
        for (; opened; ) {
          transfer.source = opened.source;
          last = opened.index;
          try {
            await this.copy(transfer, opened, what);
            break;
          } catch (error) {
            opened.bytes.cancel();
            if (error instanceof Stopped || error instanceof DigestMismatchError) throw error;
            if (!transfer.resumable && !opened.source.untrusted) throw error;
            if (!(error instanceof RejectedBytes)) opened.source.failed?.(req.digest, error as Error);
            // The bytes so far are kept; a later source may have the rest.
            opened = await this.openSource(sources, opened.index + 1, this.want(req, transfer.ingest.bytesWritten, stop.signal), transfer.ingest.expectedSize).catch(() => {
              throw error;
            });
          }
        }
        try {
          await transfer.ingest.finish();
          break;
        } catch (error) {
          const untrusted = [...transfer.contributors].every((source) => source.untrusted);
          if (!(error instanceof DigestMismatchError) || !untrusted || last + 1 >= sources.length) throw error;
          // Only untrusted sources (peers) sent these bytes and no client saw them: told, and the blob starts over.
          for (const source of transfer.contributors) source.rejected?.(req.digest, error);
          transfer.contributors.clear();
          const size = transfer.ingest.expectedSize;
          transfer.ingest = await this.store.createIngest(req.digest, size, transfer.resumable ? this.partials.pathOf(req.digest) : undefined);
          transfer.offset = 0;
          opened = await this.openSource(sources, last + 1, this.want(req, 0, stop.signal), size);
        }
      }
      await this.partials.remove(req.digest); // an empty file a non-resumable transfer found
      this.metadata.touch(req.digest, req.client.name, req.repository);
      transfer.tracker.finish(true);
    } catch (caught) {
      stop.abort();
      const stopped = caught instanceof Stopped;
      const error = (stopped ? caught.reason : caught) as Error;
      if (error instanceof DigestMismatchError) for (const source of transfer.contributors) source.rejected?.(req.digest, error);
      await this.stopIngest(transfer.ingest, error, transfer.resumable);
      // A transfer stopped on purpose moved its bytes well; only a real failure counts as an upstream error.
      transfer.tracker.finish(stopped);
      if (!stopped) this.telemetry.note('warning', `Transfer of ${req.repository}@${req.digest.slice(0, 19)} from ${req.client.name} failed: ${error.message}`, req.client.name);
      throw error;
    } finally {
      if (transfer.kind === 'pull') this.pacer.notePullTransfer(transfer.registry, transfer.tracker.status.id, true);
    }
  }

  /**
   * A resumable transfer keeps the bytes it has, unless they proved wrong or the upstream will not continue
   * them (then the next try starts over); any other ingest is removed. Every follower errors.
   */
  private async stopIngest(ingest: Ingest, error: Error, resumable: boolean): Promise<void> {
    const keep = resumable && ingest.bytesWritten > 0 && !(error instanceof DigestMismatchError) && !(error instanceof ResumeRefusedError);
    if (keep) await ingest.suspend(error);
    else await ingest.fail(error);
  }

  /** One source's body into the ingest, each chunk paced first; bytes the ingest already has (a source that could not seek) are skipped. */
  private async copy(transfer: Transfer, { source, bytes }: Opened, what: string): Promise<void> {
    const { ingest, tracker } = transfer;
    let skip = ingest.bytesWritten - bytes.start;
    for await (const chunk of bytes.body) {
      await this.paceChunk(transfer, source, chunk.length);
      const fresh = skip > 0 ? chunk.subarray(Math.min(skip, chunk.length)) : chunk;
      skip -= chunk.length - fresh.length;
      if (fresh.length === 0) continue;
      if (ingest.expectedSize !== undefined && ingest.bytesWritten + fresh.length > ingest.expectedSize) {
        const error = new RejectedBytes(`${source.name} sent more than the ${ingest.expectedSize} bytes of ${what}`);
        source.rejected?.(ingest.digest, error);
        throw error;
      }
      transfer.contributors.add(source);
      await ingest.write(fresh);
      if (source.kind === 'upstream') tracker.countUpstream(fresh.length);
      tracker.progress(ingest.bytesWritten - transfer.offset);
    }
    // A transfer that may continue elsewhere checks a short body here, before finish() would throw its bytes away.
    if ((transfer.resumable || source.untrusted) && ingest.expectedSize !== undefined && ingest.bytesWritten < ingest.expectedSize) {
      throw errorForUpstreamFailure(new Error(`the body ended after ${ingest.bytesWritten} of ${ingest.expectedSize} bytes`), what);
    }
  }

  /**
   * Tells the pacer whose bytes these are; what it throws stops the transfer, unless a client is waiting on it
   * by now. A prefetch chunk held back (for a pull, or a cap) goes at once when a client joins this transfer.
   */
  private async paceChunk(transfer: Transfer, source: BlobSource, bytes: number): Promise<void> {
    const kind: PacedKind = source.kind === 'upstream' ? transfer.kind : 'peer';
    const paced = this.pacer.pace(bytes, kind, transfer.registry);
    paced.catch(() => undefined); // a wait the join cut short may still end in the job's stop: no longer ours
    try {
      await (kind === 'prefetch' ? Promise.race([paced, transfer.joined]) : paced);
    } catch (error) {
      if (transfer.kind !== 'pull') throw new Stopped(error);
    }
  }
}
