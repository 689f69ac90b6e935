/**
 * Case 5, tag resolution: GET manifest by tag, one after another on a
 * kept-alive connection, the way each `docker pull` starts. Inside the
 * freshness window Layover answers from its cache; outside it, it asks the
 * upstream with a HEAD (one round trip over the link). The "outside" Layover
 * runs with tagFreshnessSeconds 0, so every request is outside the window.
 * distribution's proxy has no window: it asks the upstream every time, so
 * its two rows measure the same behaviour twice.
 */
import { Agent } from 'node:http';
import { timeManifestByTag } from '../client.js';
import type { BenchContext } from '../context.js';
import { startLayoverServer, type BenchServer } from '../servers.js';
import { rotate } from '../stats.js';

export type Freshness = 'inside' | 'outside';

export interface TagsResult {
  /** Milliseconds per request. */
  samples: Record<Freshness, { layover: number[]; distribution: number[] }>;
}

export async function runTags(ctx: BenchContext): Promise<TagsResult> {
  const revalidating = await startLayoverServer({ upstream: ctx.shaper.url, workDir: ctx.workDir, name: 'layover-revalidating', tagFreshnessSeconds: 0 });
  try {
    const servers: Record<Freshness, BenchServer[]> = { inside: [ctx.layover, ctx.peer], outside: [revalidating, ctx.peer] };
    const samples: TagsResult['samples'] = { inside: { layover: [], distribution: [] }, outside: { layover: [], distribution: [] } };
    const perRound = Math.ceil(ctx.options.tagRequests / ctx.options.rounds);
    for (const freshness of ['inside', 'outside'] as const) {
      const agents = new Map(servers[freshness].map((server) => [server, new Agent({ keepAlive: true, maxSockets: 1 })]));
      try {
        for (const server of servers[freshness]) await resolveTag(ctx, server, agents.get(server)!, 2); // cache the manifest, open the connections
        for (let round = 0; round < ctx.options.rounds; round++) {
          for (const server of rotate(servers[freshness], round)) {
            samples[freshness][server.name as 'layover' | 'distribution'].push(...(await resolveTag(ctx, server, agents.get(server)!, perRound)));
          }
        }
      } finally {
        for (const agent of agents.values()) agent.destroy();
      }
      ctx.log(`tags ${freshness} the freshness window: done`);
    }
    return { samples };
  } finally {
    await revalidating.stop();
  }
}

async function resolveTag(ctx: BenchContext, server: BenchServer, agent: Agent, times: number): Promise<number[]> {
  const { repository, tag } = ctx.images.tags;
  const latencies: number[] = [];
  for (let i = 0; i < times; i++) latencies.push(await timeManifestByTag(server.url, repository, tag, agent));
  return latencies;
}
