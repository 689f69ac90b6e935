/**
 * The office link, simulated: a real TCP proxy on loopback that gives the
 * connections through it a bandwidth and a one-way delay, and counts the
 * bytes that cross it. The benchmark puts it between the caches and their
 * upstream; the demo puts it between Layover and its sample origin, and shows
 * its byte counter as "bytes over the office link".
 *
 * The model, per direction (or one for both when the bandwidth is shared):
 *
 *   source socket ──► send queue ──► transmitter ──► wire ──► destination socket
 *                     (bounded:       (one per link,  (latency: every byte
 *                      the source is   shared by all   arrives `latencyMs`
 *                      paused when     connections,    after it was sent)
 *                      it is full)     round-robin)
 *
 * - Bandwidth is the link's, not each connection's: three parallel layer
 *   downloads share it, as they would share a real office line.
 * - A new connection first pays one round trip (the TCP handshake over the
 *   real link) unless `handshake: false`; after that a request/response costs
 *   one round trip (2 × latency) plus its bytes ÷ bandwidth.
 * - Memory stays flat: the send queue holds at most about 50 ms of bytes, the
 *   wire at most bandwidth × latency; beyond that the source is paused and TCP
 *   pushes back on the sender. A destination that does not read stops its
 *   direction the same way.
 * - Times come from the transmitter's schedule, not from when a timer happened
 *   to fire, so timer lateness never lowers the throughput.
 * - What it charges is counted, not only felt: `stats()` counts bytes and
 *   handshakes, and `onEvent` reports every scheduled send (bytes, start, end,
 *   arrival) and delivery on the schedule's own clock, so tests check the model
 *   by what it did rather than by how long a stopwatch ran.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

// ---------------------------------------------------------------- link description

/** Bytes per second in one megabit per second. */
export const MBIT = 125_000;

export interface LinkSpec {
  /**
   * Bytes per second. A number caps each direction on its own (a full-duplex
   * line); `{ down, up }` gives them separately (down = from the registry to
   * the office); `{ shared }` makes both directions draw from one budget.
   * 0 or absent: unlimited.
   */
  bandwidth?: number | { down: number; up: number } | { shared: number };
  /** One-way delay added to data in each direction, in milliseconds. */
  latencyMs?: number;
  /** A new connection pays one round trip before its first byte moves (default true). */
  handshake?: boolean;
}

/** A LinkSpec with every choice made. Rates are bytes per second; 0 means unlimited. */
export interface Link {
  down: number;
  up: number;
  shared: boolean;
  latencyMs: number;
  handshake: boolean;
}

export interface LinkProfile {
  id: string;
  label: string;
  link: Link;
}

function profile(id: string, label: string, mbitPerSecond: number, latencyMs: number): LinkProfile {
  return { id, label, link: normalizeLink({ bandwidth: mbitPerSecond * MBIT, latencyMs }) };
}

/** Named links for the demo and the benchmark; the first is the demo's default. */
export const LINK_PROFILES: readonly LinkProfile[] = [
  profile('asia-us-dtr', 'Asia office → US DTR', 20, 180),
  profile('eu-us-dtr', 'EU office → US DTR', 50, 80),
  profile('branch-office', 'Branch office → regional DTR cache', 100, 50),
  profile('satellite', 'Remote site over satellite', 10, 300),
  profile('lan', 'Same building (LAN)', 1000, 0.5),
];

export function findLinkProfile(id: string): LinkProfile | undefined {
  return LINK_PROFILES.find((candidate) => candidate.id === id.trim().toLowerCase());
}

export function normalizeLink(spec: LinkSpec | Link): Link {
  if ('down' in spec && 'shared' in spec) return checkLink({ ...spec });
  const { bandwidth = 0, latencyMs = 0, handshake = true } = spec as LinkSpec;
  if (typeof bandwidth === 'number') return checkLink({ down: bandwidth, up: bandwidth, shared: false, latencyMs, handshake });
  if ('shared' in bandwidth) return checkLink({ down: bandwidth.shared, up: bandwidth.shared, shared: true, latencyMs, handshake });
  return checkLink({ down: bandwidth.down, up: bandwidth.up, shared: false, latencyMs, handshake });
}

function checkLink(link: Link): Link {
  for (const [name, value] of [['bandwidth', link.down], ['bandwidth', link.up], ['latency', link.latencyMs]] as const) {
    if (!Number.isFinite(value) || value < 0) throw new Error(`link ${name} must be a non-negative number, got ${value}`);
  }
  return link;
}

const RATE_UNITS: Record<string, number> = {
  bit: 1 / 8, kbit: 1e3 / 8, mbit: 1e6 / 8, gbit: 1e9 / 8,
  b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3,
};

/**
 * Reads a link from text, as a user types it on the command line: a profile
 * id ("asia-us-dtr"), or a rate and a latency in any order and separator:
 * "20mbit,180ms", "100 Mbit/s 50 ms", "2.5MB/s+0.2s". A missing rate means
 * unlimited, a missing latency 0 ms.
 */
export function parseLink(text: string): Link {
  const named = findLinkProfile(text);
  if (named) return { ...named.link };
  const lower = text.trim().toLowerCase();
  const rate = /(\d+(?:\.\d+)?)\s*(gbit|mbit|kbit|bit|gib|mib|kib|gb|mb|kb|b)(?:\/s|ps)?(?![a-z])/.exec(lower);
  const latency = /(\d+(?:\.\d+)?)\s*(ms|s)(?![a-z])/.exec(lower.replace(rate?.[0] ?? '\u0000', ' '));
  const leftover = lower.replace(rate?.[0] ?? '\u0000', '').replace(latency?.[0] ?? '\u0000', '').replace(/[\s,;+@/]+/g, '');
  if ((!rate && !latency) || leftover) {
    throw new Error(`cannot read the link "${text}": give a profile (${LINK_PROFILES.map((p) => p.id).join(', ')}) or a rate and a latency, e.g. "20mbit,180ms"`);
  }
  const bandwidth = rate ? Number(rate[1]) * RATE_UNITS[rate[2]!]! : 0;
  const latencyMs = latency ? Number(latency[1]) * (latency[2] === 's' ? 1000 : 1) : 0;
  return normalizeLink({ bandwidth, latencyMs });
}

/** "20 Mbit/s, 180 ms" (or "down 20 / up 5 Mbit/s", "shared", "unlimited"), for labels and reports. */
export function describeLink(link: Link): string {
  const mbit = (rate: number) => (rate === 0 ? 'unlimited' : `${formatNumber(rate / MBIT)} Mbit/s`);
  let rate = mbit(link.down);
  if (link.shared) rate += ' shared';
  else if (link.up !== link.down) rate = `down ${mbit(link.down)} / up ${mbit(link.up)}`;
  return `${rate}, ${formatNumber(link.latencyMs)} ms`;
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 2 : 1).replace(/\.?0+$/, '');
}

/** The time bytes take over the link with no competition: bytes ÷ bandwidth + round trips. */
export function idealTransferMs(link: Link, bytes: number, roundTrips: number): number {
  const serialization = link.down === 0 ? 0 : (bytes / link.down) * 1000;
  return serialization + roundTrips * 2 * link.latencyMs;
}

// ---------------------------------------------------------------- sizing

/** The send queue holds this much time of the link's rate (the "router buffer"); the source pauses beyond it. */
const SEND_QUEUE_MS = 50;
const MIN_SEND_QUEUE_BYTES = 256 * 1024;
/** Without a rate, the wire holds at most this (a TCP window: throughput is then at most this ÷ latency). */
const UNLIMITED_WIRE_BYTES = 8 * 1024 * 1024;
/** The transmitter sends at most this much time of bytes at once, so connections interleave finely. */
const QUANTUM_MS = 2;
const MIN_QUANTUM_BYTES = 16 * 1024;
const MAX_QUANTUM_BYTES = 256 * 1024;

/**
 * The most bytes one direction of one connection holds: its send queue, plus
 * the chunk read from the source that filled it, and its wire, plus the one
 * send that may start while the wire is just short of full (a quantum, or a
 * whole chunk when the rate is unlimited). `chunk` is the largest read from a
 * socket (Node reads at most 64 KiB at a time).
 */
export function heldBytesLimit(link: Link, direction: Direction, chunk = 64 * 1024): number {
  const rate = direction === 'down' ? link.down : link.up;
  const oneSend = rate === 0 ? chunk : quantum(rate);
  return sendQueueLimit(rate) + chunk + wireLimit(rate, link.latencyMs) + oneSend;
}

function sendQueueLimit(rate: number): number {
  return Math.max(MIN_SEND_QUEUE_BYTES, (rate * SEND_QUEUE_MS) / 1000);
}

/** How much arrival-timer lateness the wire absorbs before a full-rate pipe has to wait for room. */
const WIRE_SLACK_MS = 20;

/** Bytes in flight: bandwidth × latency, plus slack; a pipe with a full wire waits (the receive window). */
function wireLimit(rate: number, latencyMs: number): number {
  if (rate === 0) return UNLIMITED_WIRE_BYTES;
  return (rate * (latencyMs + WIRE_SLACK_MS)) / 1000 + 2 * quantum(rate);
}

function quantum(rate: number): number {
  if (rate === 0) return Number.POSITIVE_INFINITY;
  return Math.min(MAX_QUANTUM_BYTES, Math.max(MIN_QUANTUM_BYTES, Math.round((rate * QUANTUM_MS) / 1000)));
}

// ---------------------------------------------------------------- transmitter

/**
 * Sends a link's bytes one quantum at a time, at its rate: each direction has
 * one (or both share one), and every connection's pipe waits its turn,
 * round-robin, so parallel downloads share the line fairly.
 */
class Transmitter {
  /** When the bytes sent last have left, on the performance.now() clock. */
  private busyUntil = 0;
  private readonly ready: Pipe[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly rate: () => number) {}

  /** A pipe has bytes to send and room on its wire (a pipe that cannot send is skipped when its turn comes). */
  wake(pipe: Pipe): void {
    if (!this.ready.includes(pipe)) {
      pipe.readySince = performance.now();
      this.ready.push(pipe);
    }
    if (!this.timer && !this.running) this.run();
  }

  forget(pipe: Pipe): void {
    const index = this.ready.indexOf(pipe);
    if (index >= 0) this.ready.splice(index, 1);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.ready.length = 0;
  }

  /** Sends whatever the schedule allows up to now, then sleeps until the link is free again. */
  private run(): void {
    this.timer = undefined;
    this.running = true;
    const now = performance.now();
    try {
      while (this.ready.length > 0 && this.busyUntil <= now) this.sendOne();
    } finally {
      this.running = false;
    }
    if (this.ready.length > 0) this.timer = setTimeout(() => this.run(), Math.max(0, this.busyUntil - now));
  }

  private sendOne(): void {
    const pipe = this.ready.shift()!;
    const rate = this.rate();
    const taken = pipe.takeForSending(quantum(rate));
    if (!taken) return; // it is woken again when it can send
    // Back-to-back sending starts where the last bytes ended, not when this timer ran.
    const start = Math.max(this.busyUntil, taken.readyAt);
    const end = rate === 0 ? start : start + (taken.bytes.length * 1000) / rate;
    this.busyUntil = end;
    if (pipe.canSend() && !this.ready.includes(pipe)) this.ready.push(pipe);
    pipe.onTheWire(taken, { start, end, rate });
  }
}

// ---------------------------------------------------------------- pipe: one direction of one connection

interface Queued {
  bytes: Buffer;
  /** When it entered the send queue. */
  queuedAt: number;
}

interface InFlight {
  bytes: Buffer;
  arrivesAt: number;
}

/** Bytes the transmitter took from a send queue, and why they could not go earlier. */
interface Taken {
  bytes: Buffer;
  /** When they entered the send queue. */
  queuedAt: number;
  /** When they could go at the earliest: queued, the pipe had room, and the handshake was over. */
  readyAt: number;
  /** How long the handshake round trip held them after they were queued (0 once a connection is open). */
  handshakeWaitMs: number;
}

interface PipeOptions {
  connection: number;
  direction: Direction;
  source: Socket;
  destination: Socket;
  transmitter: Transmitter;
  link: () => Link;
  rate: () => number;
  /** The first byte may not leave before this time (the handshake round trip). */
  notBefore: number;
  count: (bytes: number) => void;
  emit: ((event: LinkEvent) => void) | undefined;
}

class Pipe {
  /** Since when the transmitter has had this pipe waiting (set by the transmitter). */
  readySince = 0;
  private readonly sendQueue: Queued[] = [];
  private sendQueueBytes = 0;
  private readonly wire: InFlight[] = [];
  private wireBytes = 0;
  private sourceEnded = false;
  private closed = false;
  private arrivalTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: PipeOptions) {
    const { source, destination } = options;
    source.on('data', (chunk: Buffer) => this.accept(chunk));
    source.once('end', () => {
      this.sourceEnded = true;
      this.deliver();
    });
    destination.on('drain', () => this.deliver());
  }

  canSend(): boolean {
    if (this.closed || this.sendQueue.length === 0 || this.options.destination.writableNeedDrain) return false;
    if (performance.now() < this.options.notBefore) return false;
    return this.wireBytes < wireLimit(this.options.rate(), this.options.link().latencyMs);
  }

  /** Called by the transmitter: up to `limit` bytes from the head of the send queue, and since when they could go. */
  takeForSending(limit: number): Taken | undefined {
    const head = this.sendQueue[0];
    if (!head || !this.canSend()) return undefined;
    let bytes = head.bytes;
    if (bytes.length > limit) {
      head.bytes = bytes.subarray(limit);
      bytes = bytes.subarray(0, limit);
    } else {
      this.sendQueue.shift();
    }
    this.sendQueueBytes -= bytes.length;
    this.resumeSourceIfRoom();
    const { notBefore } = this.options;
    return {
      bytes,
      queuedAt: head.queuedAt,
      readyAt: Math.max(head.queuedAt, this.readySince, notBefore),
      // The pipe is only handed to the transmitter once the handshake is over: measured from queuing, not from readySince.
      handshakeWaitMs: Math.max(0, notBefore - head.queuedAt),
    };
  }

  /** Called by the transmitter: these bytes have left and arrive after the latency. */
  onTheWire(taken: Taken, sent: { start: number; end: number; rate: number }): void {
    const arrivesAt = sent.end + this.options.link().latencyMs;
    this.wire.push({ bytes: taken.bytes, arrivesAt });
    this.wireBytes += taken.bytes.length;
    const { emit, connection, direction } = this.options;
    emit?.({
      type: 'send', connection, direction, bytes: taken.bytes.length, queuedAt: taken.queuedAt, readyAt: taken.readyAt,
      handshakeWaitMs: taken.handshakeWaitMs, start: sent.start, end: sent.end, arrivesAt, rate: sent.rate,
    });
    this.deliver();
  }

  /** Bytes this pipe holds now: its send queue and its wire. */
  get heldBytes(): number {
    return this.sendQueueBytes + this.wireBytes;
  }

  /** True while the source is paused because the send queue is full (backpressure reaching the sender). */
  get holdingSource(): boolean {
    return !this.closed && !this.sourceEnded && this.options.source.isPaused();
  }

  /** Stops everything this pipe scheduled and drops what it held. */
  close(): void {
    this.closed = true;
    clearTimeout(this.arrivalTimer);
    clearTimeout(this.handshakeTimer);
    this.options.transmitter.forget(this);
    this.sendQueue.length = 0;
    this.sendQueueBytes = 0;
    this.wire.length = 0;
    this.wireBytes = 0;
  }

  private accept(chunk: Buffer): void {
    this.sendQueue.push({ bytes: chunk, queuedAt: performance.now() });
    this.sendQueueBytes += chunk.length;
    if (this.sendQueueBytes >= sendQueueLimit(this.options.rate())) this.options.source.pause();
    this.wakeAfterHandshake();
  }

  /** Hands the pipe to the transmitter, once the handshake round trip is over. */
  private wakeAfterHandshake(): void {
    const wait = this.options.notBefore - performance.now();
    if (wait <= 0) {
      this.options.transmitter.wake(this);
    } else if (!this.handshakeTimer) {
      // Timers run on a millisecond clock and may fire a fraction early: check again then.
      this.handshakeTimer = setTimeout(() => {
        this.handshakeTimer = undefined;
        this.wakeAfterHandshake();
      }, Math.ceil(wait));
    }
  }

  private resumeSourceIfRoom(): void {
    const { source } = this.options;
    if (source.isPaused() && !this.sourceEnded && this.sendQueueBytes < sendQueueLimit(this.options.rate()) / 2) source.resume();
  }

  /** Writes what has arrived; sleeps until the next arrival; ends the destination once everything is through. */
  private deliver(): void {
    if (this.closed) return;
    clearTimeout(this.arrivalTimer);
    this.arrivalTimer = undefined;
    const { destination } = this.options;
    const now = performance.now();
    while (this.wire.length > 0 && this.wire[0]!.arrivesAt <= now && !destination.writableNeedDrain) {
      const { bytes, arrivesAt } = this.wire.shift()!;
      this.wireBytes -= bytes.length;
      this.options.count(bytes.length);
      const { emit, connection, direction } = this.options;
      emit?.({ type: 'deliver', connection, direction, bytes: bytes.length, arrivesAt, at: now });
      destination.write(bytes);
    }
    if (this.wire.length > 0 && !destination.writableNeedDrain) {
      this.arrivalTimer = setTimeout(() => this.deliver(), Math.max(0, this.wire[0]!.arrivesAt - now));
    }
    if (this.canSend()) this.options.transmitter.wake(this);
    if (this.sourceEnded && this.sendQueue.length === 0 && this.wire.length === 0 && !destination.writableEnded) destination.end();
  }
}

// ---------------------------------------------------------------- the proxy

/** down: from the far side (the registry) to the office; up: the other way. */
export type Direction = 'down' | 'up';

/**
 * What the shaper did, on its schedule's clock (performance.now() milliseconds).
 * Connections are numbered 1, 2, … in the order they were accepted.
 */
export type LinkEvent =
  /** A connection was accepted; its first bytes up may not leave before `handshakeUntil` (= `at` without a handshake). */
  | { type: 'connect'; connection: number; at: number; handshakeUntil: number }
  /**
   * The transmitter put bytes on the line: they were queued at `queuedAt`, could go at `readyAt`
   * (`handshakeWaitMs` of that wait was the handshake), occupied the line from `start` to `end` at
   * `rate` bytes/s (0: unlimited), and arrive at `arrivesAt` = end + latency.
   */
  | { type: 'send'; connection: number; direction: Direction; bytes: number; queuedAt: number; readyAt: number; handshakeWaitMs: number; start: number; end: number; arrivesAt: number; rate: number }
  /** Bytes that arrived were written to the far socket at `at` (never before `arrivesAt`; later when timers ran late). */
  | { type: 'deliver'; connection: number; direction: Direction; bytes: number; arrivesAt: number; at: number };

export interface LinkShaperOptions {
  /** Where the far side is (the upstream registry). */
  target: { host: string; port: number };
  /** A LinkSpec, a resolved Link, or text for parseLink (a profile id or "20mbit,180ms"). */
  link: LinkSpec | Link | string;
  /** Default 127.0.0.1 and a free port. */
  listen?: { host?: string; port?: number };
  /** Called for every connection, send and delivery (for tests and tools; costs nothing when absent). */
  onEvent?: (event: LinkEvent) => void;
}

export interface LinkStats {
  /** Bytes delivered from the far side to the office (what pulls cost). */
  bytesDown: number;
  /** Bytes delivered from the office to the far side. */
  bytesUp: number;
  /** Connections accepted since start (or the last resetStats). */
  connections: number;
  /** Of those, the ones charged a handshake round trip before their first byte. */
  handshakes: number;
  openConnections: number;
  /** Bytes the shaper holds right now, in send queues and on wires (bounded: see heldBytesLimit). */
  heldBytes: number;
  /** Directions whose sender is held back right now because their send queue is full. */
  heldSenders: number;
}

interface Connection {
  client: Socket;
  server: Socket;
  pipes: Pipe[];
}

/**
 * A running shaped link. Start with `LinkShaper.start`, point clients at
 * `url` instead of the target, read `stats()`, change it with `setLink`,
 * and `stop()` it: stop leaves no socket or timer behind.
 */
export class LinkShaper {
  private currentLink: Link;
  private readonly connections = new Set<Connection>();
  private readonly counters = { bytesDown: 0, bytesUp: 0, connections: 0, handshakes: 0 };
  /** Numbers connections for events; never reset, so numbers stay unique. */
  private accepted = 0;
  private readonly down: Transmitter;
  private readonly up: Transmitter;
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly options: LinkShaperOptions,
  ) {
    this.currentLink = resolveLink(options.link);
    this.down = new Transmitter(() => this.currentLink.down);
    this.up = this.currentLink.shared ? this.down : new Transmitter(() => this.currentLink.up);
    server.on('connection', (client) => this.accept(client));
  }

  static async start(options: LinkShaperOptions): Promise<LinkShaper> {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
    const shaper = new LinkShaper(server, options);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.listen?.host ?? '127.0.0.1', port: options.listen?.port ?? 0 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return shaper;
  }

  get host(): string {
    return (this.server.address() as { address: string }).address;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** http://HOST:PORT: the address to give clients instead of the target's. */
  get url(): string {
    return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  get link(): Link {
    return { ...this.currentLink };
  }

  /**
   * Changes bandwidth and latency from now on (bytes already on the wire keep
   * their arrival time). Whether the bandwidth is shared is fixed at start.
   */
  setLink(link: LinkSpec | Link | string): void {
    const next = resolveLink(link);
    if (next.shared !== this.currentLink.shared) throw new Error('setLink cannot switch between shared and per-direction bandwidth; start a new shaper');
    this.currentLink = next;
  }

  stats(): LinkStats {
    const pipes = [...this.connections].flatMap((connection) => connection.pipes);
    return {
      ...this.counters,
      openConnections: this.connections.size,
      heldBytes: pipes.reduce((sum, pipe) => sum + pipe.heldBytes, 0),
      heldSenders: pipes.filter((pipe) => pipe.holdingSource).length,
    };
  }

  resetStats(): void {
    this.counters.bytesDown = 0;
    this.counters.bytesUp = 0;
    this.counters.connections = 0;
    this.counters.handshakes = 0;
  }

  /** Closes the listener, cuts every connection, and clears every timer. */
  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const connection of this.connections) this.cut(connection);
      this.connections.clear();
      this.down.stop();
      this.up.stop();
    });
    return this.stopping;
  }

  private accept(client: Socket): void {
    if (this.stopping) {
      client.destroy();
      return;
    }
    this.counters.connections += 1;
    const id = ++this.accepted;
    const server = connect({ host: this.options.target.host, port: this.options.target.port, allowHalfOpen: true });
    const link = () => this.currentLink;
    // The client's first bytes wait for the SYN and SYN-ACK to cross the link; the server only answers after that.
    const acceptedAt = performance.now();
    if (this.currentLink.handshake) this.counters.handshakes += 1;
    const handshakeDone = acceptedAt + (this.currentLink.handshake ? 2 * this.currentLink.latencyMs : 0);
    const emit = this.options.onEvent;
    emit?.({ type: 'connect', connection: id, at: acceptedAt, handshakeUntil: handshakeDone });
    const common = { connection: id, link, emit };
    const connection: Connection = {
      client,
      server,
      pipes: [
        new Pipe({ ...common, direction: 'up', source: client, destination: server, transmitter: this.up, rate: () => this.currentLink.up, notBefore: handshakeDone, count: (n) => (this.counters.bytesUp += n) }),
        new Pipe({ ...common, direction: 'down', source: server, destination: client, transmitter: this.down, rate: () => this.currentLink.down, notBefore: 0, count: (n) => (this.counters.bytesDown += n) }),
      ],
    };
    this.connections.add(connection);
    for (const socket of [client, server]) {
      socket.setNoDelay(true);
      // A failure on either side cuts both, as a broken line would; a clean close waits for the other side.
      socket.once('error', () => this.cut(connection));
      socket.once('close', () => {
        if (client.destroyed && server.destroyed) this.forget(connection);
      });
    }
    client.resume();
  }

  /** Destroys both sockets: their 'close' events then forget the connection. */
  private cut(connection: Connection): void {
    for (const pipe of connection.pipes) pipe.close();
    connection.client.destroy();
    connection.server.destroy();
  }

  private forget(connection: Connection): void {
    for (const pipe of connection.pipes) pipe.close();
    this.connections.delete(connection);
  }
}

function resolveLink(link: LinkSpec | Link | string): Link {
  return typeof link === 'string' ? parseLink(link) : normalizeLink(link);
}
