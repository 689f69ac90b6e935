/**
 * Case 1, warm serving: a cached blob, streamed to 1 and to N clients at once,
 * from Layover, from distribution, and from nginx reading the very same files
 * Layover stores. Throughput is the blob bytes of all clients ÷ the time until
 * the last one has them.
 */
import { downloadBlob, downloadConcurrently } from '../client.js';
import { PeakMemory, type BenchContext } from '../context.js';
import { peerHasBlob, startNginxServer, type BenchServer, type ServerName } from '../servers.js';
import { rotate } from '../stats.js';
import { sleep } from '../../test/support/process.js';

export interface WarmResult {
  blobBytes: number;
  /** Per client count: MB/s (10^6 bytes) per round and server. */
  byClients: Array<{ clients: number; megabytesPerSecond: Partial<Record<ServerName, number[]>> }>;
  peakRssBytes: Partial<Record<ServerName, number>>;
}

export async function runWarm(ctx: BenchContext): Promise<WarmResult> {
  const { warmBlob } = ctx.images;
  await primeCaches(ctx);
  const nginx = await startNginxServer(ctx.layover.blobsDir, ctx.workDir);
  try {
    const servers: BenchServer[] = [ctx.layover, ctx.peer, nginx];
    for (const server of servers) await serveTo(server, ctx, 1); // page cache, JIT, connection paths
    const memory = new PeakMemory(servers);
    const byClients = ctx.options.warmClients.map((clients) => ({ clients, megabytesPerSecond: {} as Partial<Record<ServerName, number[]>> }));
    for (let round = 0; round < ctx.options.warmRounds; round++) {
      for (const server of rotate(servers, round)) {
        for (const entry of byClients) {
          const rate = await serveTo(server, ctx, entry.clients);
          (entry.megabytesPerSecond[server.name] ??= []).push(rate);
          ctx.log(`warm round ${round + 1}: ${server.name} × ${entry.clients}: ${rate.toFixed(0)} MB/s`);
        }
      }
    }
    return { blobBytes: warmBlob.size, byClients, peakRssBytes: memory.read() };
  } finally {
    await nginx.stop();
  }
}

/** N clients download the blob at once; MB/s over all of them. */
async function serveTo(server: BenchServer, ctx: BenchContext, clients: number): Promise<number> {
  const { warmBlob } = ctx.images;
  const { bytes, ms } = await downloadConcurrently(`${server.url}/v2/${warmBlob.repository}/blobs/${warmBlob.digest}`, clients, warmBlob.size);
  return bytes / (ms / 1000) / 1e6;
}

/**
 * Fetches the blob once through each cache with the link opened up (priming
 * is not what is measured), waits until distribution's background store has
 * it, and proves both now serve it without asking the upstream.
 */
async function primeCaches(ctx: BenchContext): Promise<void> {
  const { warmBlob } = ctx.images;
  const link = ctx.shaper.link;
  ctx.shaper.setLink({ latencyMs: 0, handshake: false });
  try {
    for (const server of [ctx.layover, ctx.peer]) {
      await downloadBlob(`${server.url}/v2/${warmBlob.repository}/blobs/${warmBlob.digest}`, { digest: warmBlob.digest, size: warmBlob.size });
    }
    const deadline = Date.now() + 120_000;
    while (!(await peerHasBlob(ctx.peer, warmBlob.digest, warmBlob.size))) {
      if (Date.now() > deadline) throw new Error('distribution did not store the warm blob within 2 minutes');
      await sleep(100);
    }
  } finally {
    ctx.shaper.setLink(link);
  }
  const mark = await ctx.upstream.mark();
  for (const server of [ctx.layover, ctx.peer]) await serveTo(server, ctx, 1);
  const fetched = await ctx.upstream.count({ method: 'GET', pathIncludes: '/blobs/', since: mark });
  if (fetched > 0) throw new Error(`the warm blob is not cached: ${fetched} upstream blob GETs while serving it warm`);
}
