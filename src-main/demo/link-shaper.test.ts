/**
 * The link shaper against real loopback sockets, checked by what it counted
 * and scheduled, never by a stopwatch: every send's bytes, its time on the
 * line (bytes ÷ rate), its arrival (end + latency), the handshakes charged,
 * and the order of sends and deliveries, all on the shaper's own schedule.
 * Wall-clock speed under a real load belongs in `npm run bench`; here, a busy
 * machine can only make deliveries later than scheduled, which no check
 * forbids (deliveries are only checked never to be early).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  describeLink, heldBytesLimit, idealTransferMs, LINK_PROFILES, LinkShaper, MBIT, normalizeLink, parseLink,
  type Direction, type LinkEvent,
} from './link-shaper.js';

const MiB = 1024 * 1024;

/**
 * A tiny protocol: the client sends "GET <n>\n" and gets n bytes, or
 * "PUT <n>\n" followed by n bytes and gets "ok\n". The connection stays open
 * for more requests until the client ends it.
 */
function startByteServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => serveBytes(socket));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

function serveBytes(socket: Socket): void {
  let buffered = Buffer.alloc(0);
  let uploadLeft = 0;
  socket.on('error', () => undefined);
  socket.on('end', () => socket.end());
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      if (uploadLeft > 0) {
        const taken = Math.min(uploadLeft, buffered.length);
        uploadLeft -= taken;
        buffered = buffered.subarray(taken);
        if (uploadLeft === 0) socket.write('ok\n');
        if (buffered.length === 0 || uploadLeft > 0) return;
      }
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      const [verb, size] = buffered.subarray(0, newline).toString().split(' ');
      buffered = buffered.subarray(newline + 1);
      if (verb === 'GET') void sendBytes(socket, Number(size));
      else uploadLeft = Number(size);
    }
  });
}

/** Writes n bytes respecting backpressure; `progress` says how far it got and whether it waits for room now. */
async function sendBytes(socket: Socket, size: number, progress?: { sent: number; blocked: boolean }): Promise<void> {
  const block = Buffer.alloc(64 * 1024, 7);
  for (let sent = 0; sent < size && !socket.destroyed; ) {
    const piece = block.subarray(0, Math.min(block.length, size - sent));
    sent += piece.length;
    if (progress) progress.sent = sent;
    if (socket.write(piece)) continue;
    if (progress) progress.blocked = true;
    await drainedOrClosed(socket);
    if (progress) progress.blocked = false;
  }
}

function drainedOrClosed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/** A client connection that can ask for bytes and wait for them. */
class Client {
  private received = 0;
  private waiters: Array<{ until: number; resolve: () => void }> = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      this.waiters = this.waiters.filter((waiter) => (this.received >= waiter.until ? (waiter.resolve(), false) : true));
    });
  }

  static async open(port: number): Promise<Client> {
    const socket = connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    return new Client(socket);
  }

  get bytesReceived(): number {
    return this.received;
  }

  /** Resolves once `total` bytes have arrived since the connection opened. */
  receivedAtLeast(total: number): Promise<void> {
    if (this.received >= total) return Promise.resolve();
    return new Promise<void>((resolve) => this.waiters.push({ until: total, resolve }));
  }

  /** Sends a request and resolves when `expect` more bytes have arrived. */
  async exchange(request: string | Buffer, expect: number): Promise<void> {
    const arrived = this.receivedAtLeast(this.received + expect);
    this.socket.write(request);
    await arrived;
  }

  close(): void {
    this.socket.destroy();
  }
}

const upload = (size: number): Buffer => Buffer.concat([Buffer.from(`PUT ${size}\n`), Buffer.alloc(size, 1)]);

// ---------------------------------------------------------------- what the shaper reported

type SendEvent = Extract<LinkEvent, { type: 'send' }>;
type DeliverEvent = Extract<LinkEvent, { type: 'deliver' }>;
type ConnectEvent = Extract<LinkEvent, { type: 'connect' }>;
interface Filter {
  connection?: number;
  direction?: Direction;
  /** Only events reported after this mark (see EventLog.mark). */
  since?: number;
}

/** Every event one shaper reported, in the order it reported them (the transmitter's order for sends). */
class EventLog {
  readonly events: LinkEvent[] = [];
  readonly listener = (event: LinkEvent): void => void this.events.push(event);

  /** A point in the log: filters with `since` see only what came after it. */
  mark(): number {
    return this.events.length;
  }

  sends(filter: Filter = {}): SendEvent[] {
    return this.matching(filter).filter((event): event is SendEvent => event.type === 'send');
  }

  deliveries(filter: Filter = {}): DeliverEvent[] {
    return this.matching(filter).filter((event): event is DeliverEvent => event.type === 'deliver');
  }

  connects(): ConnectEvent[] {
    return this.events.filter((event): event is ConnectEvent => event.type === 'connect');
  }

  private matching({ connection, direction, since = 0 }: Filter): LinkEvent[] {
    return this.events.slice(since).filter((event) =>
      (connection === undefined || event.connection === connection) && (direction === undefined || !('direction' in event) || event.direction === direction));
  }
}

const bytesOf = (events: ReadonlyArray<{ bytes: number }>): number => events.reduce((sum, event) => sum + event.bytes, 0);

/** Schedule times are sums of the same floating-point numbers: equal up to rounding. */
function assertSameTime(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} ms, expected ${expected} ms`);
}

/** Each send occupied the line for exactly its bytes ÷ the rate. */
function assertChargedAt(sends: SendEvent[], rate: number, what: string): void {
  assert.ok(sends.length > 0, `${what}: nothing was sent`);
  for (const send of sends) {
    assert.equal(send.rate, rate, `${what}: charged at ${send.rate} B/s, not ${rate}`);
    assertSameTime(send.end - send.start, (send.bytes * 1000) / rate, `${what}: ${send.bytes} bytes on the line`);
  }
}

/**
 * One line, fully used: in the transmitter's order, no send starts before the
 * previous one ended (never two at once, so connections share one rate), and
 * each starts as soon as both the line was free and its bytes were ready (the
 * line never idles while bytes wait, so the rate is the throughput).
 */
function assertOneLineFullyUsed(sends: SendEvent[], what: string): void {
  for (const [index, send] of sends.entries()) {
    if (index === 0) continue;
    const previous = sends[index - 1]!;
    assertSameTime(send.start, Math.max(previous.end, send.readyAt), `${what}: send ${index} started`);
  }
}

/** Every byte arrives exactly `latencyMs` after it left, and is delivered then or later, never earlier. */
function assertLatency(log: EventLog, latencyMs: number, what: string, since = 0): void {
  for (const send of log.sends({ since })) assertSameTime(send.arrivesAt - send.end, latencyMs, `${what}: flight time`);
  for (const delivery of log.deliveries({ since })) assert.ok(delivery.at >= delivery.arrivesAt, `${what}: delivered before it arrived`);
}

/** Polls a state the shaper or the test exposes; the deadline only guards against a hang, it measures nothing. */
async function waitUntil(condition: () => boolean, what: string, deadlineMs = 30_000): Promise<void> {
  for (const started = Date.now(); !condition(); ) {
    if (Date.now() - started > deadlineMs) throw new Error(`gave up waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('link shaper', { timeout: 60_000 }, () => {
  let target: { server: Server; port: number };
  const shapers: LinkShaper[] = [];

  before(async () => {
    target = await startByteServer();
  });
  after(async () => {
    await Promise.all(shapers.map((shaper) => shaper.stop()));
    target.server.close();
  });

  async function shaper(link: Parameters<typeof normalizeLink>[0] | string): Promise<{ link: LinkShaper; log: EventLog }> {
    const log = new EventLog();
    const started = await LinkShaper.start({ target: { host: '127.0.0.1', port: target.port }, link, onEvent: log.listener });
    shapers.push(started);
    return { link: started, log };
  }

  it('holds a download to its bandwidth', async () => {
    const rate = 8 * MiB;
    const { link, log } = await shaper({ bandwidth: rate, handshake: false });
    const client = await Client.open(link.port);
    const size = 4 * MiB;
    await client.exchange(`GET ${size}\n`, size);
    const down = log.sends({ direction: 'down' });
    assert.equal(bytesOf(down), size, 'every byte went through the transmitter');
    assertChargedAt(down, rate, 'download');
    assertOneLineFullyUsed(down, 'download');
    assert.ok(down.at(-1)!.end - down[0]!.start >= (size / rate) * 1000 - 1e-6, 'the line carried the bytes no faster than its rate');
    assert.equal(bytesOf(log.deliveries({ direction: 'down' })), size);
    assertLatency(log, 0, 'download');
    client.close();
  });

  it('shares the bandwidth between connections, fairly', async () => {
    const rate = 8 * MiB;
    const { link, log } = await shaper({ bandwidth: rate, handshake: false });
    const clients = await Promise.all([Client.open(link.port), Client.open(link.port)]);
    const size = 2 * MiB;
    await Promise.all(clients.map((client) => client.exchange(`GET ${size}\n`, size)));
    const down = log.sends({ direction: 'down' });
    // One line for both: a per-connection cap would put two sends on the line at once.
    assertChargedAt(down, rate, 'two downloads');
    assertOneLineFullyUsed(down, 'two downloads');
    const [first, second] = log.connects().map(({ connection }) => down.filter((send) => send.connection === connection));
    assert.equal(bytesOf(first!), size);
    assert.equal(bytesOf(second!), size);
    // Round-robin: while both were sending, each got about half of the line (first-come-first-served gives one all of it).
    const bothFrom = Math.max(first![0]!.start, second![0]!.start);
    const bothUntil = Math.min(first!.at(-1)!.end, second!.at(-1)!.end);
    const during = (sends: SendEvent[]) => bytesOf(sends.filter((send) => send.start >= bothFrom && send.end <= bothUntil));
    const share = during(first!) / (during(first!) + during(second!));
    assert.ok(share > 0.3 && share < 0.7, `while both downloaded, the first got ${(share * 100).toFixed(0)}% of the line`);
    for (const client of clients) client.close();
  });

  it('caps each direction separately, or both from one budget when shared', async () => {
    const size = 2 * MiB;
    const separate = await shaper({ bandwidth: { down: 64 * MiB, up: 4 * MiB }, handshake: false });
    const [uploader, downloader] = await Promise.all([Client.open(separate.link.port), Client.open(separate.link.port)]);
    await Promise.all([uploader!.exchange(upload(size), 3), downloader!.exchange(`GET ${size}\n`, size)]);
    const up = separate.log.sends({ direction: 'up' });
    const down = separate.log.sends({ direction: 'down' });
    assertChargedAt(up, 4 * MiB, 'upload');
    assertChargedAt(down, 64 * MiB, 'download');
    assertOneLineFullyUsed(up, 'upload');
    assertOneLineFullyUsed(down, 'download');
    const overlapping = down.filter((d) => up.some((u) => d.start < u.end && u.start < d.end));
    assert.ok(overlapping.length > 0, 'the directions are two lines: the download was on its line while the upload was on the other');
    uploader!.close();
    downloader!.close();

    const shared = await shaper({ bandwidth: { shared: 8 * MiB }, handshake: false });
    const [up2, down2] = await Promise.all([Client.open(shared.link.port), Client.open(shared.link.port)]);
    await Promise.all([up2!.exchange(upload(size), 3), down2!.exchange(`GET ${size}\n`, size)]);
    const both = shared.log.sends();
    assertChargedAt(both, 8 * MiB, 'upload and download on a shared budget');
    assertOneLineFullyUsed(both, 'upload and download on a shared budget');
    const uploadSends = both.filter((send) => send.direction === 'up' && send.bytes > 100);
    const competing = both.filter((send) => send.direction === 'down' && send.start > uploadSends[0]!.start && send.start < uploadSends.at(-1)!.start);
    assert.ok(competing.length > 0, 'the download took turns with the upload on the one line');
    up2!.close();
    down2!.close();
  });

  it('delays data one way by the latency: a request and its answer cost one round trip', async () => {
    const { link, log } = await shaper({ latencyMs: 100, handshake: false });
    const client = await Client.open(link.port);
    for (const exchange of [1, 2]) {
      const mark = log.mark();
      await client.exchange('GET 1000\n', 1000);
      const request = log.sends({ direction: 'up', since: mark });
      const requestArrived = log.deliveries({ direction: 'up', since: mark }).at(-1)!;
      const answer = log.sends({ direction: 'down', since: mark });
      const answered = log.deliveries({ direction: 'down', since: mark }).at(-1)!;
      assert.equal(bytesOf(answer), 1000);
      // The far side answers only once the request got there: the answer's bytes were ready after that.
      assert.ok(answer[0]!.readyAt >= requestArrived.at, `exchange ${exchange}: answered before the request arrived`);
      assert.ok(answered.arrivesAt - request[0]!.start >= 200, `exchange ${exchange}: one round trip on the schedule`);
      assert.ok(request.every((send) => send.handshakeWaitMs === 0), `exchange ${exchange}: no handshake charged`);
    }
    assertLatency(log, 100, 'each direction');
    assert.equal(link.stats().handshakes, 0, 'handshake: false charges none');
    client.close();
  });

  it('charges a new connection one more round trip for its handshake', async () => {
    const { link, log } = await shaper({ latencyMs: 100 });
    const client = await Client.open(link.port);
    const [connected] = log.connects();
    assertSameTime(connected!.handshakeUntil - connected!.at, 200, 'the handshake is one round trip');
    const first = log.mark();
    await client.exchange('GET 1000\n', 1000);
    const firstRequest = log.sends({ direction: 'up', since: first });
    assert.ok(firstRequest.every((send) => send.start >= connected!.handshakeUntil), 'no byte left before the handshake was over');
    const firstAnswer = log.deliveries({ direction: 'down', since: first }).at(-1)!;
    assert.ok(firstAnswer.arrivesAt - connected!.at >= 400, 'handshake and request: two round trips on the schedule');
    const next = log.mark();
    await client.exchange('GET 1000\n', 1000);
    assert.ok(log.sends({ direction: 'up', since: next }).every((send) => send.handshakeWaitMs === 0), 'the next request on the connection pays no handshake');
    assert.equal(link.stats().handshakes, 1, 'one handshake per connection, not per request');
    const another = await Client.open(link.port);
    await another.exchange('GET 10\n', 10);
    assert.equal(link.stats().handshakes, 2, 'a new connection pays its own');
    assertLatency(log, 100, 'with handshakes');
    client.close();
    another.close();
  });

  it('adds latency and serialization together, as idealTransferMs says', async () => {
    const { link, log } = await shaper({ bandwidth: 20 * MBIT, latencyMs: 60, handshake: false });
    const client = await Client.open(link.port);
    const size = 1 * MiB;
    await client.exchange(`GET ${size}\n`, size);
    const down = log.sends({ direction: 'down' });
    assertChargedAt(down, 20 * MBIT, '1 MiB at 20 Mbit/s');
    assertOneLineFullyUsed(down, '1 MiB at 20 Mbit/s');
    assertLatency(log, 60, '1 MiB over 60 ms');
    const requestLeft = log.sends({ direction: 'up' })[0]!.start;
    const lastArrival = down.at(-1)!.arrivesAt;
    assert.ok(lastArrival - requestLeft >= idealTransferMs(link.link, size, 1) - 1e-6, 'no faster than the ideal: a round trip plus bytes ÷ bandwidth');
    client.close();
  });

  it('counts the bytes that crossed, exactly, in each direction', async () => {
    const { link } = await shaper({ bandwidth: 32 * MiB, latencyMs: 5 });
    const client = await Client.open(link.port);
    const requests = ['GET 123457\n', 'GET 1\n', `PUT 70001\n`];
    await client.exchange(requests[0]!, 123_457);
    await client.exchange(requests[1]!, 1);
    await client.exchange(Buffer.concat([Buffer.from(requests[2]!), Buffer.alloc(70_001, 3)]), 3);
    const stats = link.stats();
    assert.equal(stats.bytesDown, 123_457 + 1 + 3);
    assert.equal(stats.bytesUp, requests.join('').length + 70_001);
    assert.equal(stats.connections, 1);
    assert.equal(stats.handshakes, 1);
    assert.equal(stats.openConnections, 1);
    assert.equal(stats.heldBytes, 0, 'everything that went in came out');
    link.resetStats();
    assert.deepEqual(link.stats(), { bytesDown: 0, bytesUp: 0, connections: 0, handshakes: 0, openConnections: 1, heldBytes: 0, heldSenders: 0 });
    client.close();
  });

  it('keeps memory flat: a client that does not read stops the sender', async () => {
    const progress = { sent: 0, blocked: false };
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      void sendBytes(socket, 512 * MiB, progress);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const blocked = await LinkShaper.start({ target: { host: '127.0.0.1', port: (server.address() as { port: number }).port }, link: { latencyMs: 10 } });
    shapers.push(blocked);
    const socket = connect({ host: '127.0.0.1', port: blocked.port });
    socket.pause();
    // The end state of backpressure: the shaper holds its sender back and the sender waits for room.
    await waitUntil(() => blocked.stats().heldSenders === 1 && progress.blocked, 'the shaper held the sender back and the sender waited');
    const held = blocked.stats().heldBytes;
    assert.ok(held <= heldBytesLimit(blocked.link, 'down'), `the shaper holds ${held} bytes, more than its queue and wire allow (${heldBytesLimit(blocked.link, 'down')})`);
    // Kernel socket buffers on both hops plus the shaper's bounded queue and wire: tens of MiB at most, never the 512 MiB offered.
    assert.ok(progress.sent < 48 * MiB, `the sender got ${(progress.sent / MiB).toFixed(1)} MiB out while nobody read`);
    const queued = progress.sent;
    let received = 0;
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.resume();
    await waitUntil(() => received > queued, 'reading again let bytes sent after the pause through');
    socket.destroy();
    server.close();
  });

  it('changes rate and latency at runtime', async () => {
    const { link, log } = await shaper({ bandwidth: 2 * MiB, latencyMs: 0, handshake: false });
    const client = await Client.open(link.port);
    await client.exchange(`GET ${MiB}\n`, MiB);
    assertChargedAt(log.sends({ direction: 'down' }), 2 * MiB, 'before setLink');
    assertLatency(log, 0, 'before setLink');
    link.setLink({ bandwidth: 8 * MiB, latencyMs: 50, handshake: false });
    assert.equal(link.link.latencyMs, 50);
    const changed = log.mark();
    await client.exchange(`GET ${MiB}\n`, MiB);
    assertChargedAt(log.sends({ direction: 'down', since: changed }), 8 * MiB, 'after setLink');
    assertLatency(log, 50, 'after setLink', changed);
    link.setLink('branch-office');
    assert.equal(link.link.down, 100 * MBIT);
    assert.throws(() => link.setLink({ bandwidth: { shared: MiB } }), /shared/);
    client.close();
  });

  it('stops mid-transfer without leaving a socket or a timer behind', async () => {
    const before = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const link = await LinkShaper.start({ target: { host: '127.0.0.1', port: target.port }, link: { bandwidth: MiB, latencyMs: 200 } });
    const client = await Client.open(link.port);
    client.socket.on('error', () => undefined);
    client.socket.write(`GET ${64 * MiB}\n`);
    await client.receivedAtLeast(1); // the transfer is under way
    await link.stop();
    await link.stop(); // twice is fine
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(link.stats().openConnections, 0);
    const timers = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    assert.ok(timers <= before, `timers left: ${timers} (was ${before})`);
    await waitUntil(() => client.socket.destroyed || client.socket.readableEnded, 'the client was cut off');
    assert.ok(client.bytesReceived < 64 * MiB, 'cut off mid-transfer');
    client.close();
  });
});

describe('link descriptions', () => {
  it('has the demo profiles by name', () => {
    const asia = parseLink('asia-us-dtr');
    assert.equal(asia.down, 20 * MBIT);
    assert.equal(asia.latencyMs, 180);
    assert.equal(LINK_PROFILES[0]!.label, 'Asia office → US DTR');
    assert.equal(describeLink(asia), '20 Mbit/s, 180 ms');
  });

  it('reads a rate and a latency as people write them', () => {
    assert.deepEqual(parseLink('100mbit,50ms'), normalizeLink({ bandwidth: 100 * MBIT, latencyMs: 50 }));
    assert.deepEqual(parseLink('100 Mbit/s 50 ms'), normalizeLink({ bandwidth: 100 * MBIT, latencyMs: 50 }));
    assert.deepEqual(parseLink('2.5MB/s + 0.2s'), normalizeLink({ bandwidth: 2_500_000, latencyMs: 200 }));
    assert.deepEqual(parseLink('80ms'), normalizeLink({ latencyMs: 80 }));
    assert.equal(describeLink(parseLink('1gbit')), '1000 Mbit/s, 0 ms');
    assert.equal(describeLink(normalizeLink({ bandwidth: { down: 20 * MBIT, up: 5 * MBIT }, latencyMs: 10 })), 'down 20 Mbit/s / up 5 Mbit/s, 10 ms');
    assert.throws(() => parseLink('fast'), /cannot read the link/);
    assert.throws(() => parseLink('20mbit 50ms extra'), /cannot read the link/);
  });

  it('computes the ideal time: bytes over bandwidth plus round trips', () => {
    assert.equal(idealTransferMs(normalizeLink({ bandwidth: 100 * MBIT, latencyMs: 50 }), 12_500_000, 2), 1000 + 200);
  });
});
