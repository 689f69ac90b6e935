/**
 * Case 7, memory at work (issue 13, part 6): many clients fetch one large
 * blob nobody has cached, all at once, then fetch it again warm; each cache
 * gets a blob of its own, so both start cold. The figure is each server's
 * peak resident memory (the kernel's high-water mark, reset before each
 * phase). The link is opened up: this case is about memory, not the link.
 */
import { sleep } from '../../test/support/process.js';
import { downloadConcurrently } from '../client.js';
import { medianIdleMemory } from '../idle-memory.js';
import { PeakMemory, waitForQuietLink, type BenchContext } from '../context.js';
import { peerHasBlob, type BenchServer, type ServerName } from '../servers.js';

export interface BlobMemoryResult {
  blobBytes: number;
  clients: number;
  /** Peak resident bytes per server, cold and warm. */
  peakRssBytes: Partial<Record<ServerName, { cold: number; warm: number }>>;
  /** Resident memory of a fresh `layover serve` a few seconds after its start (median of idleStarts). */
  idleRssBytes?: number;
  idleStarts?: number;
}

const IDLE_STARTS = 3;

export async function runBlobMemory(ctx: BenchContext): Promise<BlobMemoryResult> {
  const clients = ctx.options.memoryClients;
  const [layoverBlob, peerBlob] = ctx.images.memory;
  if (!layoverBlob || !peerBlob) throw new Error('case 7 needs its blobs: prepareImages runs with the memory case selected');
  const link = ctx.shaper.link;
  ctx.shaper.setLink({ latencyMs: 0, handshake: false });
  const peakRssBytes: BlobMemoryResult['peakRssBytes'] = {};
  try {
    for (const [server, blob] of [[ctx.layover, layoverBlob], [ctx.peer, peerBlob]] as const) {
      const url = `${server.url}/v2/${blob.repository}/blobs/${blob.digest}`;
      await waitForQuietLink(ctx.shaper);
      const cold = await peakDuring(server, () => downloadConcurrently(url, clients, blob.size));
      if (server === ctx.peer) await waitUntilPeerHas(ctx, blob.digest, blob.size);
      const warm = await peakDuring(server, () => downloadConcurrently(url, clients, blob.size));
      peakRssBytes[server.name] = { cold, warm };
      ctx.log(`memory: ${server.name}: ${clients} clients on ${(blob.size / 1024 / 1024).toFixed(0)} MiB, peak ${(cold / 1024 / 1024).toFixed(0)} MiB cold, ${(warm / 1024 / 1024).toFixed(0)} MiB warm`);
    }
  } finally {
    ctx.shaper.setLink(link);
  }
  const idle = await medianIdleMemory(IDLE_STARTS);
  ctx.log(`memory: a fresh layover serve idles at ${(idle.rssBytes / 1024 / 1024).toFixed(1)} MiB`);
  return { blobBytes: layoverBlob.size, clients, peakRssBytes, idleRssBytes: idle.rssBytes, idleStarts: IDLE_STARTS };
}

async function peakDuring(server: BenchServer, work: () => Promise<unknown>): Promise<number> {
  const memory = new PeakMemory([server]);
  await work();
  return memory.read()[server.name] ?? Number.NaN;
}

/** distribution's proxy stores a blob in the background; warm means it is in its storage. */
async function waitUntilPeerHas(ctx: BenchContext, digest: string, size: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!(await peerHasBlob(ctx.peer, digest, size))) {
    if (Date.now() > deadline) throw new Error('distribution did not store the memory blob within 2 minutes');
    await sleep(100);
  }
}
