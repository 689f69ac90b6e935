/**
 * A soak on loopback: many concurrent clients for a few minutes against a real
 * `layover serve` process in front of a real docker-registry, with the office
 * limits as shipped (DEFAULT_LIMITS, nothing lifted). Every soak client
 * shares 127.0.0.1: any 429 the limits give is counted, and the client waits
 * the Retry-After it was given, as registry clients do.
 * No other error; after the load the open descriptors return to their
 * pre-load count (within a handful), and resident memory grows by at most
 * 16 MiB after warm-up (see memoryFloors).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { DEFAULT_LIMITS } from '../../src-main/app/settings.js';
import { writeSampleLayout } from '../../src-main/demo/sample-images.js';
import { startLayoverProcess } from '../support/layover.js';
import { makeTempDir, removeTempDir, sleep } from '../support/process.js';
import { startRegistry } from '../support/registry.js';
import { pushSampleLayout } from '../support/skopeo.js';
import { whenAdminReady } from './admin-ready.js';
import { recordResults } from './results.js';

const SOAK_SECONDS = Number(process.env.LAYOVER_SOAK_SECONDS ?? 120);
const CLIENTS = 24;
/** Descriptors that may differ after the load from before it: a log rotation, a lazily opened file. */
const DESCRIPTOR_SLACK = 5;
const MEMORY_GROWTH_MIB = 16;
/**
 * Resident memory swings by tens of MiB with garbage collection under load
 * (a 240 s run sampled 125–185 MiB with no trend), so single samples prove
 * nothing: the lowest sample of the first third after warm-up is compared
 * with the lowest of the last third. A leak raises that floor; a collection
 * cycle does not.
 */
function memoryFloors(afterWarmUp: number[], idle: number): { warm: number; end: number } {
  const window = Math.floor(afterWarmUp.length / 3);
  return { warm: Math.min(...afterWarmUp.slice(0, window)), end: Math.min(...afterWarmUp.slice(-window), idle) };
}
/** How long the descriptors of closed connections may take to go (a failure bound, not a timing). */
const SETTLE_GIVE_UP_MS = 30_000;

async function openDescriptors(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length;
}

async function residentMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** Polls the descriptor count until it is back within the slack of `baseline` (once the clients' connections are gone). */
async function descriptorsSettled(pid: number, baseline: number): Promise<number> {
  let count = await openDescriptors(pid);
  for (const started = Date.now(); count > baseline + DESCRIPTOR_SLACK && Date.now() - started < SETTLE_GIVE_UP_MS; count = await openDescriptors(pid)) {
    await sleep(250);
  }
  return count;
}

interface Counts {
  requests: number;
  served: number;
  throttled: number;
  errors: number;
  bytes: number;
}

/** One client's requests: a 429 is counted and its Retry-After waited out; any other failure is an error. */
function soakClient(baseUrl: string, agent: Agent, counts: Counts, errors: string[]) {
  return async (path: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET'): Promise<void> => {
    counts.requests += 1;
    try {
      const response = await request(`${baseUrl}${path}`, { method, headers, dispatcher: agent });
      const body = Buffer.from(await response.body.arrayBuffer());
      if (response.statusCode === 429) {
        counts.throttled += 1;
        await sleep(Number(response.headers['retry-after'] ?? 1) * 1000);
        return;
      }
      if (response.statusCode >= 400) throw new Error(`${method} ${path} -> ${response.statusCode} ${body.toString().slice(0, 200)}`);
      counts.served += 1;
      counts.bytes += body.length;
    } catch (error) {
      counts.errors += 1;
      if (errors.length < 5) errors.push((error as Error).message);
    }
  };
}

test(`soak: ${CLIENTS} clients for ${SOAK_SECONDS} s under the default limits, no errors, descriptors back to baseline, no memory growth`, async () => {
  const work = await makeTempDir('soak');
  const upstream = await startRegistry({ name: 'soak-upstream' });
  const layout = await writeSampleLayout(join(work, 'layout'), [
    { tag: 'a', layers: [{ size: 4 * 1024 * 1024, seed: 'soak-a' }, { size: 256 * 1024, seed: 'soak-a2' }] },
    { tag: 'b', layers: [{ size: 1024 * 1024, seed: 'soak-b' }] },
  ]);
  await pushSampleLayout(layout, { registryHost: upstream.host, repository: 'library/soak' });
  const layover = await startLayoverProcess({ dataDir: join(work, 'data'), upstream: upstream.url });
  const pid = layover.process.pid;
  const layers = layout.tags.flatMap((tag) => tag.manifests[0]!.layers);
  const agent = new Agent({ connections: CLIENTS * 2 });
  const counts: Counts = { requests: 0, served: 0, throttled: 0, errors: 0, bytes: 0 };
  const errors: string[] = [];
  const memory = { warm: 0, end: 0, peak: 0, samples: 0 };
  const descriptors = { beforeLoad: 0, peakUnderLoad: 0, afterLoad: 0 };
  const call = soakClient(layover.url, agent, counts, errors);
  const oneRound = async (client: number, round: number) => {
    const layer = layers[(client + round) % layers.length]!;
    await call(`/v2/library/soak/manifests/${round % 2 ? 'a' : 'b'}`, { accept: 'application/vnd.oci.image.manifest.v1+json' });
    await call(`/v2/library/soak/blobs/${layer.digest}`, round % 3 === 0 ? { range: `bytes=${round % 1000}-${(round % 1000) + 4095}` } : {});
    await call(`/v2/library/soak/blobs/${layer.digest}`, {}, 'HEAD');
    await call('/v2/library/soak/tags/list?n=1');
  };
  try {
    await recordResults('soak', () => ({ clients: CLIENTS, seconds: SOAK_SECONDS, limits: { ...DEFAULT_LIMITS }, ...counts, descriptors: { ...descriptors }, memoryMiB: roundAll(memory) }), async () => {
      const { limits } = await (await whenAdminReady(layover)).getSettings();
      assert.deepEqual(limits ?? DEFAULT_LIMITS, DEFAULT_LIMITS, 'the soak runs with the office limits as shipped (none set means the defaults)');
      descriptors.beforeLoad = await openDescriptors(pid);
      const deadline = Date.now() + SOAK_SECONDS * 1000;
      const warmUpUntil = Date.now() + Math.min(20_000, (SOAK_SECONDS * 1000) / 4);
      const afterWarmUp: number[] = [];
      const sampler = (async () => {
        while (Date.now() < deadline) {
          await sleep(1000);
          const rss = await residentMiB(pid);
          memory.peak = Math.max(memory.peak, rss);
          descriptors.peakUnderLoad = Math.max(descriptors.peakUnderLoad, await openDescriptors(pid));
          if (Date.now() > warmUpUntil) memory.samples = afterWarmUp.push(rss);
        }
      })();
      await Promise.all(Array.from({ length: CLIENTS }, async (_, client) => {
        for (let round = 0; Date.now() < deadline; round++) await oneRound(client, round);
      }));
      await sampler;
      await agent.close();
      descriptors.afterLoad = await descriptorsSettled(pid, descriptors.beforeLoad);
      Object.assign(memory, memoryFloors(afterWarmUp, await residentMiB(pid)));
      console.log(`soak: ${JSON.stringify({ ...counts, descriptors, memory: roundAll(memory) })}`);
      assert.equal(counts.errors, 0, errors.join('; '));
      assert.ok(counts.served > CLIENTS * 10, `the soak did real work: ${counts.served} requests served`);
      assert.ok(afterWarmUp.length >= 9, `the soak ran long enough past its warm-up to compare two windows: ${afterWarmUp.length} samples`);
      assert.ok(descriptors.afterLoad <= descriptors.beforeLoad + DESCRIPTOR_SLACK,
        `descriptors return to the pre-load count: ${descriptors.beforeLoad} before, ${descriptors.peakUnderLoad} under load, ${descriptors.afterLoad} after`);
      assert.ok(memory.end <= memory.warm + MEMORY_GROWTH_MIB,
        `resident memory grows by at most ${MEMORY_GROWTH_MIB} MiB after warm-up: ${memory.warm.toFixed(1)} -> ${memory.end.toFixed(1)} MiB`);
    });
  } finally {
    await agent.destroy().catch(() => undefined);
    await layover.process.stop();
    await upstream.destroy();
    await removeTempDir(work);
  }
});

function roundAll(values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, Math.round(value * 10) / 10]));
}
