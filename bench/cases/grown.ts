/**
 * Case 8, the grown store (issue 13): the same warm requests (manifest by
 * tag, manifest by digest, a blob) from keep-alive clients against a fresh
 * `layover serve` and one whose data directory holds a year of office use
 * (by default 100,000 blobs, 2,000 repositories × 50 tags), in one run.
 * For each: time until /v2/ answers after the start, time until its
 * background index check is done, CPU while idle, requests/s and p99 under
 * load, and resident memory after it. The store is grown with the store's
 * own code (bench/grow-store.ts), not by pushes. The office rate limits are
 * lifted so only the serving path counts.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { sleep } from '../../test/support/process.js';
import { httpGet, MANIFEST_ACCEPT, pullImage } from '../client.js';
import type { BenchContext } from '../context.js';
import { growStore, type GrownStore } from '../grow-store.js';
import { cpuSeconds, residentSplit } from '../memory.js';
import { startLayoverServer, type LayoverServer } from '../servers.js';
import { percentile, rotate } from '../stats.js';

export type StoreName = 'fresh' | 'grown';

export interface LoadSample {
  requests: number;
  errors: number;
  seconds: number;
  /** Every request's latency, ms. */
  latenciesMs: number[];
}

export interface StoreMeasurement {
  /** From spawning `layover serve` until /v2/ answered. */
  readyMs: number;
  /** From /v2/ answering until the background index check logged that it was done. */
  checkDoneMs: number;
  /** CPU seconds per 10 s while nothing asked anything, after the check. */
  idleCpuPer10s: number;
  samples: LoadSample[];
  /** After the load: VmRSS, and its anonymous and file-backed parts (the index file is memory-mapped). */
  rssBytes: number;
  rssAnonBytes: number;
  rssFileBytes: number;
  /** Size of index/data.mdb. */
  indexFileBytes?: number;
}

export interface GrownResult {
  grown: Omit<GrownStore, 'repositoryNames'>;
  clients: number;
  stores: Record<StoreName, StoreMeasurement>;
}

/** The office limits lifted: the case measures the serving path, not the per-client limits. */
const NO_LIMITS = { limits: { perClientConcurrency: 100_000, perClientRequestsPerSecond: 1_000_000, idleTimeoutSeconds: 120 } };
const CHECK_DONE = /the metadata index (matches|was repaired against) the blob files/;

export async function runGrown(ctx: BenchContext): Promise<GrownResult> {
  const { options } = ctx;
  const grownDir = join(ctx.workDir, 'grown');
  ctx.log(`growing a store to ${options.grownRepositories} repositories × ${options.grownTags} tags`);
  const { repositoryNames: _names, ...grown } = await growStore(grownDir, { repositories: options.grownRepositories, tagsPerRepository: options.grownTags });
  ctx.log(`grew ${grown.blobs} blobs, ${grown.tags} tags in ${(grown.ms / 1000).toFixed(1)} s`);
  const servers: Partial<Record<StoreName, LayoverServer>> = {};
  const measured: Partial<Record<StoreName, Omit<StoreMeasurement, 'samples' | 'rssBytes' | 'rssAnonBytes' | 'rssFileBytes'>>> = {};
  try {
    for (const name of ['fresh', 'grown'] as const) {
      const started = performance.now();
      const server = await startLayoverServer({ upstream: ctx.shaper.url, workDir: ctx.workDir, name, settings: NO_LIMITS });
      servers[name] = server;
      const readyMs = performance.now() - started;
      const checkDoneMs = await waitForLogLine(server, CHECK_DONE) - (started + readyMs);
      const idleCpuPer10s = await idleCpu(server, options.idleSeconds);
      measured[name] = { readyMs, checkDoneMs, idleCpuPer10s };
      ctx.log(`${name} store: ready after ${(readyMs / 1000).toFixed(2)} s, index check done ${(checkDoneMs / 1000).toFixed(2)} s later, idle CPU ${idleCpuPer10s.toFixed(2)} s per 10 s`);
    }
    const targets = await warmRequests(ctx, servers.fresh!);
    for (const server of [servers.fresh!, servers.grown!]) await pullImage(server.url, ctx.images.tags.repository, ctx.images.tags.tag); // the image is now cached in both
    const samples: Record<StoreName, LoadSample[]> = { fresh: [], grown: [] };
    for (let round = 0; round < options.grownRounds; round++) {
      for (const name of rotate(['fresh', 'grown'] as const, round)) {
        const sample = await load(servers[name]!.url, targets, options.grownClients, options.grownSeconds * 1000);
        samples[name].push(sample);
        ctx.log(`grown-store round ${round + 1}: ${name}: ${(sample.requests / sample.seconds).toFixed(0)} requests/s, p99 ${percentile(sample.latenciesMs, 99).toFixed(1)} ms, ${sample.errors} errors`);
      }
    }
    const stores = {} as Record<StoreName, StoreMeasurement>;
    for (const name of ['fresh', 'grown'] as const) {
      const memory = residentSplit(servers[name]!.process.pid);
      const indexFileBytes = await fileSize(join(servers[name]!.dataDir, 'index', 'data.mdb'));
      stores[name] = {
        ...measured[name]!,
        samples: samples[name],
        rssBytes: memory.rss,
        rssAnonBytes: memory.anon,
        rssFileBytes: memory.file,
        ...(indexFileBytes !== undefined ? { indexFileBytes } : {}),
      };
    }
    return { grown, clients: options.grownClients, stores };
  } finally {
    for (const server of Object.values(servers)) await server.stop().catch(() => undefined);
  }
}

/** The three warm requests of a pull, by URL: manifest by tag, manifest by digest, the image's one layer. */
async function warmRequests(ctx: BenchContext, server: LayoverServer): Promise<string[]> {
  const { repository, tag } = ctx.images.tags;
  const response = await httpGet(`${server.url}/v2/${repository}/manifests/${tag}`, { headers: { accept: MANIFEST_ACCEPT } });
  if (response.status !== 200) throw new Error(`GET the manifest of ${repository}:${tag}: HTTP ${response.status}`);
  const digest = String(response.headers['docker-content-digest']);
  const manifest = JSON.parse(response.body.toString('utf8')) as { layers: Array<{ digest: string }> };
  return [
    `/v2/${repository}/manifests/${tag}`,
    `/v2/${repository}/manifests/${digest}`,
    `/v2/${repository}/blobs/${manifest.layers[0]!.digest}`,
  ];
}

/** `clients` loops, each on its own kept-alive connection, sending the requests in turn until the time is up. */
async function load(baseUrl: string, paths: string[], clients: number, durationMs: number): Promise<LoadSample> {
  const latenciesMs: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(Array.from({ length: clients }, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; performance.now() < deadline; i++) {
        const sent = performance.now();
        const result = await httpGet(`${baseUrl}${paths[i % paths.length]}`, { agent, headers: { accept: MANIFEST_ACCEPT }, onData: () => undefined });
        latenciesMs.push(performance.now() - sent);
        if (result.status !== 200) errors += 1;
      }
    } finally {
      agent.destroy();
    }
  }));
  return { requests: latenciesMs.length, errors, seconds: (performance.now() - started) / 1000, latenciesMs };
}

/** CPU seconds the process used while watched for `seconds`, scaled to 10 s. */
async function idleCpu(server: LayoverServer, seconds: number): Promise<number> {
  const before = cpuSeconds(server.process.pid);
  await sleep(seconds * 1000);
  return ((cpuSeconds(server.process.pid) - before) / seconds) * 10;
}

/** Waits for the server to log a line matching `pattern` (its log file); resolves with performance.now() when seen. */
async function waitForLogLine(server: LayoverServer, pattern: RegExp, timeoutMs = 600_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const log = await readFile(server.process.logFile, 'utf8').catch(() => '');
    if (pattern.test(log)) return performance.now();
    await sleep(100);
  }
  throw new Error(`${server.name} did not log ${pattern} within ${timeoutMs / 1000} s`);
}

async function fileSize(path: string): Promise<number | undefined> {
  return (await stat(path).catch(() => undefined))?.size;
}
