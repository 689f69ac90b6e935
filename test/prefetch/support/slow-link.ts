/**
 * The office's slow link for one test: a TCP proxy on loopback whose
 * downstream direction (registry -> Layover) has one shared bandwidth,
 * handed out round-robin to the connections that have bytes waiting, as TCP
 * flows share a real line. Upstream bytes (requests) pass unshaped.
 *
 * (src-main/demo/link-shaper.ts models links fully for the demo and the
 * benchmark; this stays small and on its own so the prefetch tests do not
 * depend on its timing model.)
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

const TICK_MS = 5;
/** Bytes one connection may send per turn: small enough that connections interleave finely. */
const QUANTUM = 16 * 1024;
/** A connection's queue above this pauses its upstream socket (TCP pushes back on the registry). */
const QUEUE_HIGH = 64 * 1024;

interface Flow {
  client: Socket;
  server: Socket;
  queue: Buffer[];
  queued: number;
  /** The client socket's buffer is full: skip until it drains. */
  blocked: boolean;
}

export interface SlowLink {
  url: string;
  stop(): Promise<void>;
}

export async function startSlowLink(target: { host: string; port: number }, bytesPerSecond: number): Promise<SlowLink> {
  const flows = new Set<Flow>();
  let credit = 0;
  let last = performance.now();
  let next = 0;

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    const upstream = connect(target);
    const flow: Flow = { client, server: upstream, queue: [], queued: 0, blocked: false };
    flows.add(flow);
    const drop = () => {
      flows.delete(flow);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', () => {
      if (flow.queued === 0) drop();
    });
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    client.on('drain', () => (flow.blocked = false));
    upstream.on('data', (chunk: Buffer) => {
      flow.queue.push(chunk);
      flow.queued += chunk.length;
      if (flow.queued > QUEUE_HIGH) upstream.pause();
    });
    upstream.once('connect', () => client.resume());
  });

  /** Each tick: the link's credit for the time passed, handed out a quantum at a time, round-robin. */
  const transmit = () => {
    const now = performance.now();
    credit = Math.min(credit + ((now - last) / 1000) * bytesPerSecond, (bytesPerSecond * 4 * TICK_MS) / 1000);
    last = now;
    const ready = () => [...flows].filter((flow) => flow.queued > 0 && !flow.blocked);
    for (let candidates = ready(); credit > 0 && candidates.length > 0; candidates = ready()) {
      const flow = candidates[next++ % candidates.length]!;
      const bytes = takeFromQueue(flow, Math.min(QUANTUM, Math.ceil(credit)));
      credit -= bytes.length;
      if (!flow.client.write(bytes)) flow.blocked = true;
      if (flow.queued < QUEUE_HIGH / 2) flow.server.resume();
      if (flow.queued === 0 && flow.server.destroyed) flow.client.end();
    }
  };
  const timer = setInterval(transmit, TICK_MS);

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      clearInterval(timer);
      for (const flow of flows) {
        flow.client.destroy();
        flow.server.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function takeFromQueue(flow: Flow, limit: number): Buffer {
  const parts: Buffer[] = [];
  let taken = 0;
  while (taken < limit && flow.queue.length > 0) {
    const head = flow.queue[0]!;
    const piece = head.subarray(0, limit - taken);
    parts.push(piece);
    taken += piece.length;
    if (piece.length === head.length) flow.queue.shift();
    else flow.queue[0] = head.subarray(piece.length);
  }
  flow.queued -= taken;
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}
