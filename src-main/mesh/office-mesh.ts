import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import type { MeshStatus } from '../api/types.js';
import type { BlobFetcher } from '../core/fetch/blob-fetcher.js';
import type { BlobSource, BlobSourceQuery } from '../core/fetch/blob-source.js';
import type { BlobStore } from '../core/store/blob-store.js';
import { DigestMismatchError, type Ingest } from '../core/store/ingest.js';
import type { Telemetry } from '../core/telemetry/telemetry.js';
import { electFetcher } from './election.js';
import type { OfficeKey } from './office-key.js';
import { PeerClient } from './peer-client.js';
import { PROBE_DIGEST, peerKey, type PeerAddress, type WhoAnswer } from './peer-protocol.js';
import { createPeerServer } from './peer-server.js';
import { PeerSet, type Peer } from './peer-set.js';
import { PeerBlobSource } from './peer-source.js';
import { ServingPacer, type LocalPulls } from './serving-pacer.js';

export const DEFAULT_MESH_PORT = 5052;
/** How often every known peer is asked whether it is there: a laptop that sleeps is out within this and a failed question. */
const PROBE_INTERVAL_MS = 2_000;
/**
 * After asking the peers, how long a miss waits for other members' wants
 * before the election: laptops whose pulls start within this of each other see
 * the same candidates and elect the same fetcher. A LAN round trip is far below it.
 */
const GATHER_MS = 300;
/** A want heard from another member counts in elections this long. */
const WANT_TTL_MS = 10_000;
/** A peer asking while this Layover decides waits at most this long for the decision. */
const DECISION_WAIT_MS = 5_000;

export interface MeshLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface OfficeMeshOptions {
  key: OfficeKey;
  store: BlobStore;
  fetcher: BlobFetcher;
  telemetry: Telemetry;
  logger: MeshLogger;
  /** Where the mesh listener answers; default: port 5052 on each LAN interface's address. */
  listen?: PeerAddress;
  peers?: PeerAddress[];
  servingCap?: () => number;
  /** This laptop's own pulls (core's bandwidth budget): serving peers steps aside while one flows. */
  localPulls?: LocalPulls;
}

/** This Layover's choice of sources for a digest, while the fetcher's transfer of it runs. */
interface Decision {
  /** Until then this Layover answers 'wanting': it is still asking the peers and electing. */
  done: boolean;
  /** Resolves when the choice is made. */
  decided: Promise<void>;
  decide: () => void;
  /** The peers chosen, in order (empty: this Layover goes to the WAN). */
  peers: Peer[];
}

/**
 * The office mesh: the Layovers on one LAN share blobs by digest, so the
 * office pays the WAN once per layer. Peers are trusted with bytes, never with
 * names: manifests and tags never come from here, every byte goes through the
 * verified ingest, and a peer is asked only for a digest the upstream has just
 * agreed this user may read.
 */
export class OfficeMesh {
  readonly self = randomBytes(8).toString('hex');
  readonly peers = new PeerSet(this.self);
  private readonly client: PeerClient;
  private readonly decisions = new Map<string, Decision>();
  private removeSources?: () => void;
  private readonly wants = new Map<string, Map<string, number>>();
  private readonly servers: Server[] = [];
  private readonly listening: string[] = [];
  private probeTimer?: NodeJS.Timeout;
  private stopped = false;
  readonly counters = { bytesReceived: 0, bytesSent: 0, errors: 0, wanBytesSaved: 0, refused: 0, questions: 0 };
  /** Set by discovery once it runs. */
  discovery = false;

  /** Everything sent to peers goes through it: the serving cap, after this laptop's own pulls. */
  readonly serving: ServingPacer;

  constructor(private readonly options: OfficeMeshOptions) {
    this.client = new PeerClient(options.key, this.self);
    this.serving = new ServingPacer({ cap: () => options.servingCap?.() ?? 0, ...(options.localPulls ? { pulls: options.localPulls } : {}) });
    for (const address of options.peers ?? []) this.peers.add(address, 'static');
  }

  get key(): OfficeKey {
    return this.options.key;
  }

  /** The addresses peers reach this listener at (for DNS-SD). */
  get listenAddresses(): PeerAddress[] {
    return this.servers.map((server) => server.address()).flatMap((address) => (address && typeof address === 'object' ? [{ host: address.address, port: address.port }] : []));
  }

  async start(): Promise<void> {
    const addresses = this.options.listen ? [this.options.listen] : lanAddresses().map((host) => ({ host, port: DEFAULT_MESH_PORT }));
    if (addresses.length === 0) this.options.logger.warn({}, 'office mesh: no LAN interface has an address; peers cannot reach this Layover (use --mesh-listen)');
    for (const address of addresses) {
      const server = createPeerServer(this.options.key, {
        self: this.self,
        who: (digest, asker, wanting) => this.who(digest, asker, wanting),
        blob: (digest) => this.blobFor(digest),
        servingCap: () => this.options.servingCap?.() ?? 0,
        pacer: this.serving,
        onRefused: (from, reason) => {
          this.counters.refused += 1;
          this.options.telemetry.note('warning', `Office mesh: refused ${from}: ${reason}`);
        },
        onSent: (member, bytes) => {
          this.counters.bytesSent += bytes;
          const peer = this.peers.byMember(member);
          if (peer) peer.bytesSent += bytes;
        },
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', (error: NodeJS.ErrnoException) => reject(new Error(`office mesh listener ${peerKey(address)}: ${error.code ?? error.message}`)));
        server.listen(address.port, address.host, () => resolve());
      });
      this.servers.push(server);
      const bound = server.address();
      if (bound && typeof bound === 'object') this.listening.push(peerKey({ host: bound.address, port: bound.port }));
    }
    this.options.logger.info({ listen: this.listening, officeId: this.options.key.officeId, member: this.self, peers: this.peers.all().map((peer) => peer.key) }, 'office mesh ready');
    this.removeSources = this.options.fetcher.addSources((query) => this.sourcesFor(query));
    void this.probeAll();
    this.probeTimer = setInterval(() => void this.probeAll(), PROBE_INTERVAL_MS);
    this.probeTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.removeSources?.();
    this.serving.stop();
    clearInterval(this.probeTimer);
    await Promise.all(this.servers.map((server) => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    })));
  }

  /** A peer found by discovery (or added at run time): asked at once. */
  addPeer(address: PeerAddress, found: Peer['found']): void {
    const peer = this.peers.add(address, found);
    if (peer.state === 'down') void this.probe(peer);
  }

  status(): MeshStatus {
    return {
      officeId: this.options.key.officeId,
      member: this.self,
      listen: [...this.listening],
      discovery: this.discovery,
      peers: this.peers.status(),
      bytesReceivedFromPeers: this.counters.bytesReceived,
      bytesSentToPeers: this.counters.bytesSent,
      peerErrors: this.counters.errors,
      wanBytesSaved: this.counters.wanBytesSaved,
      refused: this.counters.refused,
      questionsAnswered: this.counters.questions,
    };
  }

  // ------------------------------------------------------------ liveness

  private async probeAll(): Promise<void> {
    await Promise.all(this.peers.all().filter((peer) => peer.state !== 'dropped').map((peer) => this.probe(peer)));
  }

  private async probe(peer: Peer): Promise<void> {
    try {
      const answer = await this.client.who(peer.address, PROBE_DIGEST, false);
      this.peers.answered(peer, answer.member);
    } catch (error) {
      this.peers.failed(peer, (error as Error).message);
    }
  }

  // ------------------------------------------------------------ answering peers

  private async who(digest: string, asker: string, wanting: boolean): Promise<WhoAnswer> {
    if (digest !== PROBE_DIGEST) this.counters.questions += 1;
    if (wanting) this.recordWant(digest, asker);
    const size = await this.options.store.sizeOf(digest);
    if (size !== undefined) return { member: this.self, state: 'has', size };
    const decision = this.decisionOf(digest);
    if (decision && !decision.done) return { member: this.self, state: 'wanting' };
    if (!this.options.fetcher.isInFlight(digest)) return { member: this.self, state: 'none' };
    // The fetcher's transfer says whose bytes arrive now; before its first source answered, the choice made says it.
    const source = this.options.fetcher.transferSource(digest);
    const follows = source ? (source instanceof PeerBlobSource ? source.peer : undefined) : decision?.peers[0];
    if (!follows?.member) return { member: this.self, state: 'fetching', source: 'wan' };
    return { member: this.self, state: 'fetching', source: 'peer', follows: follows.member };
  }

  /** The choice for a digest while its transfer runs; a finished one is forgotten here. */
  private decisionOf(digest: string): Decision | undefined {
    const decision = this.decisions.get(digest);
    if (decision?.done && !this.options.fetcher.isInFlight(digest)) {
      this.decisions.delete(digest);
      return undefined;
    }
    return decision;
  }

  private async blobFor(digest: string): Promise<{ file: string; size: number } | { ingest: Ingest; size: number } | undefined> {
    this.counters.questions += 1;
    const stored = async () => {
      const size = await this.options.store.sizeOf(digest);
      return size === undefined ? undefined : { file: this.options.store.pathOf(digest), size };
    };
    const now = await stored();
    if (now) return now;
    const decision = this.decisionOf(digest);
    if (decision && !decision.done) await Promise.race([decision.decided, delay(DECISION_WAIT_MS)]);
    // The one transfer of the digest (from the WAN or from another member): followed as its bytes arrive.
    const ingest = this.options.fetcher.isInFlight(digest) ? await this.options.fetcher.inflightIngest(digest) : undefined;
    if (ingest?.expectedSize !== undefined && ingest.state !== 'failed') return { ingest, size: ingest.expectedSize };
    return stored();
  }

  private recordWant(digest: string, member: string): void {
    const now = Date.now();
    for (const [key, members] of this.wants) {
      for (const [who, at] of members) if (now - at > WANT_TTL_MS) members.delete(who);
      if (members.size === 0) this.wants.delete(key);
    }
    const members = this.wants.get(digest) ?? new Map<string, number>();
    members.set(member, now);
    this.wants.set(digest, members);
  }

  private recentWants(digest: string): string[] {
    const now = Date.now();
    return [...(this.wants.get(digest) ?? new Map<string, number>())].filter(([, at]) => now - at <= WANT_TTL_MS).map(([member]) => member);
  }

  // ------------------------------------------------------------ a miss: peers first

  /**
   * The mesh's sources for a blob the fetcher is about to fetch: the peers to
   * take it from, in order, or none, meaning "the upstream, as without the
   * mesh": no live peer, the upstream refuses this user, or this Layover was
   * elected. The fetcher does the rest (one pipeline): a peer that vanishes
   * midway is continued from the upstream with Range, wrong bytes start over
   * from the upstream, and every byte goes through the verified ingest.
   */
  private async sourcesFor(query: BlobSourceQuery): Promise<BlobSource[]> {
    for (const digest of [...this.decisions.keys()]) this.decisionOf(digest); // forgets finished ones
    const live = this.peers.live();
    if (live.length === 0 || this.stopped) return [];
    // 'Wanting' from now on, the upstream's answer included: a peer asking meanwhile must not take this
    // Layover for the WAN fetcher before it has chosen (two members following each other would wait on nothing).
    let decide!: () => void;
    const decision: Decision = { done: false, decided: new Promise<void>((resolve) => { decide = resolve; }), decide: () => decide(), peers: [] };
    this.decisions.set(query.digest, decision);
    try {
      // Access is never widened: the upstream must say this user may read this blob before any peer is asked.
      const size = await query.upstreamSize().catch(() => undefined);
      if (size !== undefined) decision.peers = (await this.chooseSources(query.digest, live)) ?? [];
    } catch (error) {
      this.options.logger.warn({ err: error, digest: query.digest }, 'office mesh: asking the peers failed; using the upstream');
    } finally {
      decision.done = true;
      decision.decide();
    }
    return decision.peers.map((peer) => new PeerBlobSource(peer, this.client, {
      onBytes: (from, bytes) => {
        this.counters.bytesReceived += bytes;
        this.counters.wanBytesSaved += bytes;
        from.bytesReceived += bytes;
      },
      onFailed: (from, reason) => this.peerFailed(from, reason),
      onRejected: (from, digest, reason) => this.dropPeer(from, reason instanceof DigestMismatchError ? `sent bytes that do not match ${digest.slice(0, 19)}` : `sent what ${digest.slice(0, 19)} is not: ${reason.message}`),
    }));
  }

  /**
   * Peers to fetch from in order, or undefined when this Layover is the one to
   * go to the WAN. A holder comes first, then the member fetching from the
   * WAN; a member already following this one means this one fetches; one
   * following another member is followed in turn (the chain ends at the WAN
   * fetcher). With none of these, the members wanting the digest now elect.
   */
  private async chooseSources(digest: string, live: Peer[]): Promise<Peer[] | undefined> {
    const answers = (await Promise.all(live.map((peer) => this.ask(peer, digest)))).flatMap((answer) => answer ?? []);
    const where = (test: (answer: WhoAnswer) => boolean) => answers.filter(({ answer }) => test(answer)).map(({ peer }) => peer);
    const holders = where((answer) => answer.state === 'has');
    if (holders.length > 0) return holders;
    const wanFetchers = where((answer) => answer.state === 'fetching' && answer.source === 'wan');
    const chain = where((answer) => answer.state === 'fetching' && answer.source === 'peer' && answer.follows !== this.self);
    if (wanFetchers.length > 0) return [...wanFetchers, ...chain];
    if (answers.some(({ answer }) => answer.state === 'fetching' && answer.follows === this.self)) return undefined;
    if (chain.length > 0) return chain;
    await delay(GATHER_MS);
    const candidates = new Set([this.self, ...answers.filter(({ answer }) => answer.state === 'wanting').map(({ answer }) => answer.member), ...this.recentWants(digest)]);
    const elected = electFetcher(digest, candidates);
    if (elected === this.self) return undefined;
    const peer = this.peers.byMember(elected);
    return peer ? [peer] : undefined;
  }

  private async ask(peer: Peer, digest: string): Promise<{ peer: Peer; answer: WhoAnswer } | undefined> {
    try {
      const answer = await this.client.who(peer.address, digest, true);
      this.peers.answered(peer, answer.member);
      return { peer, answer };
    } catch (error) {
      this.peerFailed(peer, error as Error);
      return undefined;
    }
  }

  private peerFailed(peer: Peer, error: Error): void {
    this.counters.errors += 1;
    this.peers.failed(peer, error.message);
  }

  private dropPeer(peer: Peer, reason: string): void {
    this.counters.errors += 1;
    this.peers.drop(peer, reason);
    this.options.telemetry.note('error', `Office mesh: dropped peer ${peer.key} for this session: it ${reason}`);
    this.options.logger.warn({ peer: peer.key, reason }, 'office mesh: dropped a peer that sent wrong bytes');
  }
}

/** Non-internal IPv4 addresses, and global IPv6 ones: where peers on the LAN can reach this machine. */
export function lanAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((entries) => entries ?? [])
    .filter((entry) => !entry.internal && (entry.family === 'IPv4' || !entry.address.toLowerCase().startsWith('fe80')))
    .map((entry) => entry.address);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
