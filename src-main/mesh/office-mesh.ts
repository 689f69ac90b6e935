import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import type { MeshStatus } from '../api/types.js';
import type { BlobFetcher, BlobRequest } from '../core/fetch/blob-fetcher.js';
import type { BlobStore } from '../core/store/blob-store.js';
import { DigestMismatchError, type Ingest } from '../core/store/ingest.js';
import type { Telemetry } from '../core/telemetry/telemetry.js';
import { headerValue } from '../core/upstream/registry-client.js';
import { electFetcher } from './election.js';
import type { OfficeKey } from './office-key.js';
import { PeerClient } from './peer-client.js';
import { PROBE_DIGEST, peerKey, type PeerAddress, type WhoAnswer } from './peer-protocol.js';
import { createPeerServer } from './peer-server.js';
import { PeerSet, type Peer } from './peer-set.js';
import { PeerBlobSource } from './peer-source.js';

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
}

/** This Layover's part in deciding who fetches a digest, while a miss is in progress. */
interface LocalState {
  phase: 'deciding' | 'wan' | 'peer';
  /** Resolves when the phase leaves 'deciding'. */
  decided: Promise<void>;
  decide: () => void;
  /** The ingest being filled from peers (phase 'peer'). */
  ingest?: Ingest;
  /** The member whose bytes are arriving now (phase 'peer'). */
  follows?: string;
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
  private readonly states = new Map<string, LocalState>();
  private readonly wants = new Map<string, Map<string, number>>();
  private readonly servers: Server[] = [];
  private readonly listening: string[] = [];
  private probeTimer?: NodeJS.Timeout;
  private stopped = false;
  readonly counters = { bytesReceived: 0, bytesSent: 0, errors: 0, wanBytesSaved: 0, refused: 0, questions: 0 };
  /** Set by discovery once it runs. */
  discovery = false;

  constructor(private readonly options: OfficeMeshOptions) {
    this.client = new PeerClient(options.key, this.self);
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
    this.options.fetcher.setMissSource((req) => this.fromPeers(req));
    void this.probeAll();
    this.probeTimer = setInterval(() => void this.probeAll(), PROBE_INTERVAL_MS);
    this.probeTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.options.fetcher.setMissSource(undefined);
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
    const local = this.states.get(digest);
    if (!local) return { member: this.self, state: 'none' };
    if (local.phase === 'deciding') return { member: this.self, state: 'wanting' };
    if (local.phase === 'wan') return { member: this.self, state: 'fetching', source: 'wan' };
    return { member: this.self, state: 'fetching', source: 'peer', ...(local.follows ? { follows: local.follows } : {}) };
  }

  private async blobFor(digest: string): Promise<{ file: string; size: number } | { ingest: Ingest; size: number } | undefined> {
    this.counters.questions += 1;
    const stored = async () => {
      const size = await this.options.store.sizeOf(digest);
      return size === undefined ? undefined : { file: this.options.store.pathOf(digest), size };
    };
    const now = await stored();
    if (now) return now;
    const local = this.states.get(digest);
    if (!local) return undefined;
    if (local.phase === 'deciding') await Promise.race([local.decided, delay(DECISION_WAIT_MS)]);
    if (local.phase === 'peer' && local.ingest?.expectedSize !== undefined && local.ingest.state !== 'failed') return { ingest: local.ingest, size: local.ingest.expectedSize };
    if (local.phase === 'wan') {
      const ingest = await this.options.fetcher.inflightIngest(digest);
      if (ingest?.expectedSize !== undefined && ingest.state !== 'failed') return { ingest, size: ingest.expectedSize };
    }
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
   * The fetcher's miss source. Undefined means "fetch from the upstream as
   * without the mesh": no live peer, the upstream refuses this user, this
   * Layover was elected, or the peers failed (their partial bytes are kept).
   */
  private async fromPeers(req: BlobRequest): Promise<Ingest | undefined> {
    const live = this.peers.live();
    if (live.length === 0 || this.stopped) return undefined;
    // Access is never widened: the upstream must say this user may read this blob before any peer is asked.
    const size = await this.upstreamSize(req);
    if (size === undefined) return undefined;
    let decide!: () => void;
    const state: LocalState = { phase: 'deciding', decided: new Promise<void>((resolve) => { decide = resolve; }), decide: () => decide() };
    this.states.set(req.digest, state);
    try {
      const sources = await this.chooseSources(req.digest, live);
      if (!sources) {
        this.enter(state, 'wan');
        this.forgetWhenStored(req.digest, state);
        return undefined;
      }
      const ingest = await this.options.store.createIngest(req.digest, size);
      state.ingest = ingest;
      this.enter(state, 'peer');
      const filled = await this.fill(ingest, sources, req, state);
      this.forget(req.digest, state);
      if (filled) return ingest;
      this.enter(state, 'wan'); // what the peers sent was wrong: the upstream, from the start
      this.states.set(req.digest, state);
      this.forgetWhenStored(req.digest, state);
      return undefined;
    } catch (error) {
      this.options.logger.warn({ err: error, digest: req.digest }, 'office mesh: fetching from peers failed; using the upstream');
      this.enter(state, 'wan');
      this.forgetWhenStored(req.digest, state);
      return undefined;
    }
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

  /**
   * Fills the ingest from the peers in turn, each continuing with Range where
   * the last stopped, then from the upstream for whatever is left. True when
   * the blob verified; false when its bytes were wrong (the peers that sent
   * them are dropped for the session).
   */
  private async fill(ingest: Ingest, sources: Peer[], req: BlobRequest, state: LocalState): Promise<boolean> {
    const size = ingest.expectedSize!;
    const contributors = new Set<Peer>();
    const controller = new AbortController();
    for (const peer of sources) {
      if (ingest.bytesWritten >= size) break;
      if (peer.state !== 'live') continue;
      state.follows = peer.member;
      const source = new PeerBlobSource(peer, this.client, (bytes) => {
        this.counters.bytesReceived += bytes;
        this.counters.wanBytesSaved += bytes;
        peer.bytesReceived += bytes;
      });
      try {
        const bytes = await source.open({ registry: req.client.name, repository: req.repository, digest: req.digest, size, offset: ingest.bytesWritten, signal: controller.signal });
        if (!bytes) continue;
        if (bytes.size !== size) {
          this.dropPeer(peer, `announced ${bytes.size} bytes for ${req.digest.slice(0, 19)}, the upstream ${size}`);
          bytes.cancel();
          continue;
        }
        contributors.add(peer);
        for await (const chunk of bytes.body) await ingest.write(chunk);
        if (ingest.bytesWritten < size) throw new Error(`ended at byte ${ingest.bytesWritten} of ${size}`);
      } catch (error) {
        if (ingest.state !== 'writing') break;
        if (/more than the \d+ bytes/.test((error as Error).message)) this.dropPeer(peer, `sent more bytes than ${req.digest.slice(0, 19)} has`);
        else this.peerFailed(peer, error as Error);
      }
    }
    if (ingest.state !== 'writing') return false;
    delete state.follows;
    if (ingest.bytesWritten < size) await this.resumeFromUpstream(ingest, req);
    try {
      await ingest.finish();
      return true;
    } catch (error) {
      if (!(error instanceof DigestMismatchError)) throw error;
      for (const peer of contributors) this.dropPeer(peer, `sent bytes that do not match ${req.digest.slice(0, 19)}`);
      return false;
    }
  }

  /** The rest of a blob the peers could not finish, from the upstream with Range. */
  private async resumeFromUpstream(ingest: Ingest, req: BlobRequest): Promise<void> {
    const offset = ingest.bytesWritten;
    const response = await req.client.request({
      method: 'GET', path: `/v2/${req.repository}/blobs/${req.digest}`, scope: `repository:${req.repository}:pull`,
      followRedirects: true, headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
    });
    let skip = 0;
    if (response.status === 200) skip = offset; // the upstream ignored Range: drop what we have
    else if (response.status !== 206 || !headerValue(response.headers['content-range'])?.startsWith(`bytes ${offset}-`)) {
      await response.body.dump();
      throw new Error(`the upstream answered ${response.status} to Range bytes=${offset}-`);
    }
    for await (const chunk of response.body) {
      let bytes = chunk as Buffer;
      if (skip > 0) {
        const dropped = Math.min(skip, bytes.length);
        skip -= dropped;
        bytes = bytes.subarray(dropped);
        if (bytes.length === 0) continue;
      }
      await ingest.write(bytes);
      this.options.telemetry.counters.bytesFetchedUpstream += bytes.length;
    }
  }

  private async upstreamSize(req: BlobRequest): Promise<number | undefined> {
    try {
      const response = await req.client.request({ method: 'HEAD', path: `/v2/${req.repository}/blobs/${req.digest}`, scope: `repository:${req.repository}:pull`, followRedirects: true });
      await response.body.dump();
      const length = Number(headerValue(response.headers['content-length']));
      return response.status === 200 && Number.isSafeInteger(length) ? length : undefined;
    } catch {
      return undefined;
    }
  }

  private enter(state: LocalState, phase: LocalState['phase']): void {
    state.phase = phase;
    state.decide();
  }

  private forget(digest: string, state: LocalState): void {
    if (this.states.get(digest) === state) this.states.delete(digest);
  }

  /** Followers are served from the WAN transfer until it ends; then the store answers. */
  private forgetWhenStored(digest: string, state: LocalState): void {
    void (async () => {
      const ingest = await this.options.fetcher.inflightIngest(digest);
      while (ingest && ingest.state === 'writing') await ingest.changed();
    })().finally(() => this.forget(digest, state));
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
