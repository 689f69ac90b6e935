/**
 * Where a blob's bytes come from. DESIGN.md, "One blob pipeline": every byte
 * enters through core's BlobFetcher from a *source* and through the store's
 * verified ingest. The fetcher owns single flight, the ingest (hashing,
 * verifying, renaming into place), resuming from kept bytes, telemetry and
 * pacing; a source only knows how to hand over bytes of a digest from an
 * offset on. An upstream endpoint is a source today (upstream-source.ts);
 * a LAN peer (the office mesh) and a courier bundle plug in the same way.
 *
 * How a new source plugs in:
 * 1. Implement BlobSource: `open(want)` answers the bytes from `want.offset`
 *    (or from 0 when it cannot seek; say so in `start`), or undefined when it
 *    does not hold the digest (the fetcher then asks the next source). Throw
 *    only for a real failure; the fetcher tries the next source then, too.
 *    Never verify, store or pace: the fetcher does, for every source alike.
 *    Bytes that turn out wrong fail the digest check and are never served.
 * 2. Register a BlobSourceProvider with `BlobFetcher.addSources(provider)`
 *    (it returns the function that removes it again, for a stop). For each
 *    blob the fetcher asks every provider for its sources, tries them in the
 *    order given, providers in the order added, and the upstream last: the
 *    upstream is always the fallback, so a source can make a pull faster,
 *    never wrong and never impossible.
 * 3. Say what the bytes cost: `kind` 'upstream' bytes are paced as the pull or
 *    prefetch that asked for them, charged to `registry`'s budget; 'peer' and
 *    'bundle' bytes do not cross the slow link and are reported to the pacer
 *    as 'peer' (counted, never held back for prefetch).
 * 4. Optionally implement `rejected` to hear that a source's bytes proved
 *    wrong (digest or size), e.g. to stop asking that peer.
 * 5. If the transfer from a source fails midway, the fetcher continues from
 *    the bytes already ingested with the next source (a resumable transfer,
 *    or any transfer from an `untrusted` source) or fails it (a pull's
 *    transfer from the upstream: every client sees an error). `failed` tells
 *    the source it broke off, e.g. to stop asking that peer for a while.
 * 6. A source that may vanish or lie (a LAN peer) says `untrusted`: its bytes
 *    reach clients only once the whole blob verified, so bytes that prove
 *    wrong are never seen; the fetcher then starts over with the sources
 *    after it (the upstream), and the client just waits a little longer.
 * 7. A provider may take its time to choose (it returns a promise): the office
 *    mesh asks the peers who has or fetches the digest and elects one fetcher
 *    per digest before answering, and returns no source when this Layover is
 *    the one to go to the upstream. `query.upstreamSize()` is the upstream's
 *    HEAD with the requesting user's credentials: a provider that hands out
 *    bytes by digest alone asks it first, so access is never widened, and the
 *    size it learns then bounds every source.
 */

/** What one source is asked for: a digest (of a repository, for the name-scoped upstream), from a byte offset on. */
export interface BlobWant {
  /** The registry the pull or prefetch is for (the name clients use: "docker.io"). */
  registry: string;
  /** The repository the blob was asked under; peers and bundles may ignore it (blobs are content-addressed). */
  repository: string;
  digest: string;
  /** The size the manifest names, when the caller knows it (prefetch does; a pull does not). */
  size?: number;
  /** Bytes [0, offset) are already ingested: send from here on if you can. */
  offset: number;
  /** Aborted when the transfer stops (paused, yielded, shut down): end the body then. */
  signal: AbortSignal;
}

/** Bytes of one blob handed over by a source. */
export interface BlobBytes {
  /** The offset the body starts at: want.offset when the source could seek, else 0 (the fetcher skips what it has). */
  start: number;
  /** The blob's whole size, when the source says it; undefined for a chunked upstream answer. */
  size?: number;
  body: AsyncIterable<Buffer>;
  /** Ends the body early and frees its connection (the transfer stopped or failed). */
  cancel(): void;
  /** Who answered, for messages ("https://registry-1.docker.io", "peer 10.1.2.3"). */
  from: string;
  /** The host that sent the bytes, for the Activity page: the endpoint's, or the content cache it redirected to. */
  servedBy?: string;
}

export type BlobSourceKind = 'upstream' | 'peer' | 'bundle';

export interface BlobSource {
  /** For logs and telemetry: "upstream docker.io", "peer alice-laptop". */
  readonly name: string;
  /** Upstream bytes cross the slow link and are paced against the registry's budget; peer and bundle bytes do not. */
  readonly kind: BlobSourceKind;
  /** The bytes from want.offset on, or undefined when this source does not hold the digest. */
  open(want: BlobWant): Promise<BlobBytes | undefined>;
  /**
   * Told when bytes this source sent proved wrong: the blob failed its digest check (every source that
   * contributed is told), or the source sent a size or more bytes than the blob has. A peer source drops
   * the peer; the fetcher has already thrown the bytes away.
   */
  rejected?(digest: string, reason: Error): void;
  /**
   * Told when this source's body broke off midway (a peer killed, a cut connection), or its open threw; not when
   * the transfer was stopped on purpose, nor for bytes that proved wrong (that is `rejected`).
   */
  failed?(digest: string, reason: Error): void;
  /**
   * A source that may vanish or lie (a LAN peer): clients get its bytes only once the blob verified; a failure
   * midway continues with the next source by Range; wrong bytes start the blob over with the sources after it.
   */
  readonly untrusted?: boolean;
}

/** What a provider is asked: the blob, and a way to check the upstream's own answer for it. */
export interface BlobSourceQuery extends Omit<BlobWant, 'offset' | 'signal'> {
  /**
   * The blob's size by the upstream's HEAD, with the requesting user's credentials (asked once per transfer);
   * rejects when the upstream refuses this user the blob. A size learned this way bounds every source.
   */
  upstreamSize(): Promise<number>;
}

/** Sources for one blob, in the order to try them (empty: this provider has nothing for it); may take time to choose. */
export type BlobSourceProvider = (query: BlobSourceQuery) => BlobSource[] | Promise<BlobSource[]>;
