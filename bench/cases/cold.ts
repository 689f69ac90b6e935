/**
 * Case 2, a cold pull over the office link: one client pulls a multi-layer
 * image nobody has cached, through Layover, through distribution, and
 * straight from the upstream over the same link (the no-cache reference).
 * Compared with the link's ideal: bytes ÷ bandwidth + the round trips a pull
 * cannot avoid.
 */
import { idealTransferMs } from '../../src-main/demo/link-shaper.js';
import { pullImage } from '../client.js';
import { overTheLink, PeakMemory, type BenchContext } from '../context.js';
import type { ServerName } from '../servers.js';
import { rotate } from '../stats.js';

/**
 * A pull's unavoidable round trips over the link: the cache opens a
 * connection (1) and asks for the manifest (1); only then does it know the
 * blobs, and asks for them in parallel (1).
 */
export const COLD_PULL_ROUND_TRIPS = 3;

export type ColdTarget = 'direct' | Exclude<ServerName, 'nginx'>;

export interface ColdSample {
  ms: number;
  linkBytes: number;
  upstreamBlobGets: number;
}

export interface ColdResult {
  imageBytes: number;
  layers: number;
  idealMs: number;
  samples: Partial<Record<ColdTarget, ColdSample[]>>;
  peakRssBytes: Partial<Record<ServerName, number>>;
}

export async function runCold(ctx: BenchContext): Promise<ColdResult> {
  const memory = new PeakMemory([ctx.layover, ctx.peer]);
  const samples: ColdResult['samples'] = {};
  const targets: Record<ColdTarget, string> = { direct: ctx.shaper.url, layover: ctx.layover.url, distribution: ctx.peer.url };
  for (const [round, image] of ctx.images.cold.entries()) {
    for (const target of rotate(['layover', 'distribution', 'direct'] as const, round)) {
      const measured = await overTheLink(ctx, () => pullImage(targets[target], image.repository, image.tag));
      const sample = { ms: measured.result.ms, linkBytes: measured.linkBytes, upstreamBlobGets: measured.upstreamBlobGets };
      (samples[target] ??= []).push(sample);
      ctx.log(`cold round ${round + 1}: ${target}: ${(sample.ms / 1000).toFixed(2)} s, ${(sample.linkBytes / 1e6).toFixed(1)} MB over the link, ${sample.upstreamBlobGets} blob GETs upstream`);
    }
  }
  const image = ctx.images.cold[0]!;
  return {
    imageBytes: image.totalBytes,
    layers: image.layers,
    idealMs: idealTransferMs(ctx.options.link, image.totalBytes, COLD_PULL_ROUND_TRIPS),
    samples,
    peakRssBytes: memory.read(),
  };
}
