/** What every case gets: the options, the running servers, the images, and the link between them and the upstream. */
import type { LinkShaper } from '../src-main/demo/link-shaper.js';
import { sleep } from '../test/support/process.js';
import type { TestRegistry } from '../test/support/registry.js';
import type { BenchImages } from './images.js';
import { peakRss, resetPeakRss } from './memory.js';
import type { BenchOptions } from './options.js';
import type { BenchServer, LayoverServer, PeerServer, ServerName } from './servers.js';

export interface BenchContext {
  options: BenchOptions;
  workDir: string;
  /** The origin registry, behind the shaper (its access log counts what reached it). */
  upstream: TestRegistry;
  /** The office link: both caches and the no-cache reference reach the upstream through it. */
  shaper: LinkShaper;
  layover: LayoverServer;
  peer: PeerServer;
  images: BenchImages;
  log(line: string): void;
}

export interface OverTheLink<T> {
  result: T;
  /** Bytes that came down the link while the work ran, and until it went quiet. */
  linkBytes: number;
  /** Blob GETs the upstream answered meanwhile. */
  upstreamBlobGets: number;
}

const QUIET_MS = 500;

/**
 * Runs work with the link's counters zeroed, and counts until the link goes
 * quiet again: a cache that keeps fetching after its client is served
 * (distribution stores blobs in the background) pays for that here, and the
 * next measurement does not share the link with it.
 */
export async function overTheLink<T>(ctx: BenchContext, work: () => Promise<T>): Promise<OverTheLink<T>> {
  await waitForQuietLink(ctx.shaper);
  ctx.shaper.resetStats();
  const mark = await ctx.upstream.mark();
  const result = await work();
  await waitForQuietLink(ctx.shaper);
  return {
    result,
    linkBytes: ctx.shaper.stats().bytesDown,
    upstreamBlobGets: await ctx.upstream.count({ method: 'GET', pathIncludes: '/blobs/', since: mark }),
  };
}

export async function waitForQuietLink(shaper: LinkShaper, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const moved = () => {
    const stats = shaper.stats();
    return stats.bytesDown + stats.bytesUp;
  };
  let last = moved();
  let quietSince = Date.now();
  while (Date.now() - quietSince < QUIET_MS) {
    if (Date.now() > deadline) throw new Error(`the link was still busy after ${timeoutMs} ms`);
    await sleep(50);
    const now = moved();
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    }
  }
}

/** Peak RSS per server over a stretch of the run: reset at start, read at the end. */
export class PeakMemory {
  constructor(private readonly servers: BenchServer[]) {
    for (const server of servers) resetPeakRss(server.pids());
  }

  read(): Partial<Record<ServerName, number>> {
    return Object.fromEntries(this.servers.map((server) => [server.name, peakRss(server.pids())]));
  }
}
