/**
 * Case 3, concurrent cold clients: N clients pull the same uncached image at
 * the same moment. What crosses the link is the figure that matters to an
 * office: with single flight it is the image once; a cache that fetches per
 * client multiplies it. Also the total time until the last client is done.
 */
import { performance } from 'node:perf_hooks';
import { pullImage } from '../client.js';
import { overTheLink, PeakMemory, type BenchContext } from '../context.js';
import type { ServerName } from '../servers.js';
import { median, rotate } from '../stats.js';

export interface ConcurrentSample {
  /** Until the last client had the whole image. */
  totalMs: number;
  clientMedianMs: number;
  linkBytes: number;
  upstreamBlobGets: number;
  /** Clients whose pull failed (their error is logged). */
  failures: number;
}

export interface ConcurrentResult {
  clients: number;
  imageBytes: number;
  samples: Partial<Record<Exclude<ServerName, 'nginx'>, ConcurrentSample[]>>;
  peakRssBytes: Partial<Record<ServerName, number>>;
}

export async function runConcurrent(ctx: BenchContext): Promise<ConcurrentResult> {
  const memory = new PeakMemory([ctx.layover, ctx.peer]);
  const samples: ConcurrentResult['samples'] = {};
  const clients = ctx.options.concurrentClients;
  for (const [round, image] of ctx.images.burst.entries()) {
    for (const server of rotate([ctx.layover, ctx.peer], round)) {
      const measured = await overTheLink(ctx, async () => {
        const started = performance.now();
        const pulls = await Promise.allSettled(Array.from({ length: clients }, () => pullImage(server.url, image.repository, image.tag)));
        return { totalMs: performance.now() - started, pulls };
      });
      const { totalMs, pulls } = measured.result;
      const failed = pulls.filter((pull): pull is PromiseRejectedResult => pull.status === 'rejected');
      for (const failure of failed.slice(0, 3)) ctx.log(`  ${server.name}: a client failed: ${(failure.reason as Error).message}`);
      const times = pulls.flatMap((pull) => (pull.status === 'fulfilled' ? [pull.value.ms] : []));
      const sample = { totalMs, clientMedianMs: median(times), linkBytes: measured.linkBytes, upstreamBlobGets: measured.upstreamBlobGets, failures: failed.length };
      (samples[server.name as 'layover' | 'distribution'] ??= []).push(sample);
      ctx.log(`concurrent round ${round + 1}: ${server.name}: ${clients} clients in ${(totalMs / 1000).toFixed(2)} s, ` +
        `${(sample.linkBytes / image.totalBytes).toFixed(2)}× the image over the link, ${sample.upstreamBlobGets} blob GETs upstream, ${failed.length} failed`);
    }
  }
  return { clients, imageBytes: ctx.images.burst[0]!.totalBytes, samples, peakRssBytes: memory.read() };
}
