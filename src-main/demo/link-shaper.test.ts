/**
 * The link shaper against real loopback sockets. Rates and delays are
 * checked as ratios of what the link promises, with tolerances wide enough
 * for a busy 2-core CI machine and tight enough to catch a wrong model
 * (e.g. a per-connection cap, or latency paid once per chunk).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { describeLink, idealTransferMs, LINK_PROFILES, LinkShaper, MBIT, normalizeLink, parseLink } from './link-shaper.js';

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

/** Writes n bytes respecting backpressure; resolves with how far it got when asked. */
async function sendBytes(socket: Socket, size: number, progress?: { sent: number }): Promise<void> {
  const block = Buffer.alloc(64 * 1024, 7);
  for (let sent = 0; sent < size && !socket.destroyed; ) {
    const piece = block.subarray(0, Math.min(block.length, size - sent));
    sent += piece.length;
    if (progress) progress.sent = sent;
    if (!socket.write(piece)) await drainedOrClosed(socket);
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

  /** Sends a request and resolves when `expect` more bytes have arrived; returns the milliseconds it took. */
  async exchange(request: string | Buffer, expect: number): Promise<number> {
    const started = performance.now();
    const until = this.received + expect;
    const arrived = new Promise<void>((resolve) => this.waiters.push({ until, resolve }));
    this.socket.write(request);
    await arrived;
    return performance.now() - started;
  }

  close(): void {
    this.socket.destroy();
  }
}

function assertRatio(actual: number, expected: number, low: number, high: number, what: string): void {
  const ratio = actual / expected;
  assert.ok(ratio >= low && ratio <= high, `${what}: ${actual.toFixed(1)} ms is ${ratio.toFixed(3)}× the expected ${expected.toFixed(1)} ms (allowed ${low}–${high}×)`);
}

describe('link shaper', () => {
  let target: { server: Server; port: number };
  const shapers: LinkShaper[] = [];

  before(async () => {
    target = await startByteServer();
  });
  after(async () => {
    await Promise.all(shapers.map((shaper) => shaper.stop()));
    target.server.close();
  });

  async function shaper(link: Parameters<typeof normalizeLink>[0] | string): Promise<LinkShaper> {
    const started = await LinkShaper.start({ target: { host: '127.0.0.1', port: target.port }, link });
    shapers.push(started);
    return started;
  }

  it('holds a download to its bandwidth', async () => {
    const rate = 8 * MiB;
    const link = await shaper({ bandwidth: rate, handshake: false });
    const client = await Client.open(link.port);
    const size = 4 * MiB;
    const elapsed = await client.exchange('GET ' + size + '\n', size);
    assertRatio(elapsed, (size / rate) * 1000, 0.95, 1.15, 'download time');
    client.close();
  });

  it('shares the bandwidth between connections, fairly', async () => {
    const rate = 8 * MiB;
    const link = await shaper({ bandwidth: rate, handshake: false });
    const clients = await Promise.all([Client.open(link.port), Client.open(link.port)]);
    const size = 2 * MiB;
    const started = performance.now();
    const finished = await Promise.all(clients.map(async (client) => {
      await client.exchange('GET ' + size + '\n', size);
      return performance.now() - started;
    }));
    assertRatio(Math.max(...finished), ((2 * size) / rate) * 1000, 0.95, 1.15, 'two parallel downloads');
    assert.ok(Math.min(...finished) / Math.max(...finished) > 0.85, `round-robin: both finish near the end (${finished.map((ms) => ms.toFixed(0)).join(' and ')} ms)`);
    for (const client of clients) client.close();
  });

  it('caps each direction separately, or both from one budget when shared', async () => {
    const size = 2 * MiB;
    const separate = await shaper({ bandwidth: { down: 64 * MiB, up: 4 * MiB }, handshake: false });
    const uploader = await Client.open(separate.port);
    const upload = await uploader.exchange(Buffer.concat([Buffer.from(`PUT ${size}\n`), Buffer.alloc(size, 1)]), 3);
    assertRatio(upload, (size / (4 * MiB)) * 1000, 0.95, 1.15, 'upload at the up rate');
    const download = await uploader.exchange(`GET ${size}\n`, size);
    assertRatio(download, (size / (64 * MiB)) * 1000, 0, 2.5, 'download at the (much faster) down rate');
    uploader.close();

    const shared = await shaper({ bandwidth: { shared: 8 * MiB }, handshake: false });
    const [up, down] = await Promise.all([Client.open(shared.port), Client.open(shared.port)]);
    const started = performance.now();
    await Promise.all([
      up!.exchange(Buffer.concat([Buffer.from(`PUT ${size}\n`), Buffer.alloc(size, 1)]), 3),
      down!.exchange(`GET ${size}\n`, size),
    ]);
    assertRatio(performance.now() - started, ((2 * size) / (8 * MiB)) * 1000, 0.95, 1.15, 'upload and download drawing on one shared budget');
    up!.close();
    down!.close();
  });

  it('delays data one way by the latency: a request and its answer cost one round trip', async () => {
    const link = await shaper({ latencyMs: 100, handshake: false });
    const client = await Client.open(link.port);
    assertRatio(await client.exchange('GET 1000\n', 1000), 200, 1, 1.2, 'first exchange');
    assertRatio(await client.exchange('GET 1000\n', 1000), 200, 1, 1.2, 'second exchange');
    client.close();
  });

  it('charges a new connection one more round trip for its handshake', async () => {
    const link = await shaper({ latencyMs: 100 });
    const client = await Client.open(link.port);
    assertRatio(await client.exchange('GET 1000\n', 1000), 400, 1, 1.15, 'first exchange on a new connection');
    assertRatio(await client.exchange('GET 1000\n', 1000), 200, 1, 1.2, 'next exchange on the same connection');
    client.close();
  });

  it('adds latency and serialization together, as idealTransferMs says', async () => {
    const link = await shaper({ bandwidth: 20 * MBIT, latencyMs: 60, handshake: false });
    const client = await Client.open(link.port);
    const size = 1 * MiB;
    const elapsed = await client.exchange(`GET ${size}\n`, size);
    assertRatio(elapsed, idealTransferMs(link.link, size, 1), 0.97, 1.15, '1 MiB at 20 Mbit/s over 60 ms');
    client.close();
  });

  it('counts the bytes that crossed, exactly, in each direction', async () => {
    const link = await shaper({ bandwidth: 32 * MiB, latencyMs: 5 });
    const client = await Client.open(link.port);
    const requests = ['GET 123457\n', 'GET 1\n', `PUT 70001\n`];
    await client.exchange(requests[0]!, 123_457);
    await client.exchange(requests[1]!, 1);
    await client.exchange(Buffer.concat([Buffer.from(requests[2]!), Buffer.alloc(70_001, 3)]), 3);
    const stats = link.stats();
    assert.equal(stats.bytesDown, 123_457 + 1 + 3);
    assert.equal(stats.bytesUp, requests.join('').length + 70_001);
    assert.equal(stats.connections, 1);
    assert.equal(stats.openConnections, 1);
    link.resetStats();
    assert.deepEqual(link.stats(), { bytesDown: 0, bytesUp: 0, connections: 0, openConnections: 1 });
    client.close();
  });

  it('keeps memory flat: a client that does not read stops the sender', async () => {
    const progress = { sent: 0 };
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      void sendBytes(socket, 512 * MiB, progress);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const blocked = await LinkShaper.start({ target: { host: '127.0.0.1', port: (server.address() as { port: number }).port }, link: { latencyMs: 10 } });
    shapers.push(blocked);
    const socket = connect({ host: '127.0.0.1', port: blocked.port });
    socket.pause();
    await new Promise((resolve) => setTimeout(resolve, 700));
    // Kernel socket buffers on both hops plus the shaper's bounded queue and wire: tens of MiB at most, never the 512 MiB offered.
    assert.ok(progress.sent < 48 * MiB, `the sender got ${(progress.sent / MiB).toFixed(1)} MiB out while nobody read`);
    const queued = progress.sent;
    socket.resume();
    let received = 0;
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(received > queued, 'reading again lets the bytes flow');
    socket.destroy();
    server.close();
  });

  it('changes rate and latency at runtime', async () => {
    const link = await shaper({ bandwidth: 2 * MiB, latencyMs: 0, handshake: false });
    const client = await Client.open(link.port);
    assertRatio(await client.exchange(`GET ${MiB}\n`, MiB), 500, 0.95, 1.15, 'before setLink');
    link.setLink({ bandwidth: 8 * MiB, latencyMs: 50, handshake: false });
    assert.equal(link.link.latencyMs, 50);
    assertRatio(await client.exchange(`GET ${MiB}\n`, MiB), 125 + 100, 0.95, 1.15, 'after setLink');
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
    await new Promise((resolve) => setTimeout(resolve, 1000)); // handshake, request, first answer: 3 × 200 ms
    assert.ok(client.bytesReceived > 0, 'the transfer was under way');
    await link.stop();
    await link.stop(); // twice is fine
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(link.stats().openConnections, 0);
    const timers = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    assert.ok(timers <= before, `timers left: ${timers} (was ${before})`);
    assert.ok(client.socket.destroyed || client.socket.readableEnded, 'the client was cut off');
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
