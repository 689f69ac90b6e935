/**
 * A soak on loopback: many concurrent clients for a few minutes against a real
 * `layover serve` process in front of a real docker-registry. No error, and no
 * growth in file descriptors or memory once the load has settled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { writeSampleLayout } from '../../src-main/demo/sample-images.js';
import { startLayoverProcess } from '../support/layover.js';
import { makeTempDir, removeTempDir, sleep } from '../support/process.js';
import { startRegistry } from '../support/registry.js';
import { pushSampleLayout } from '../support/skopeo.js';

const SOAK_SECONDS = Number(process.env.LAYOVER_SOAK_SECONDS ?? 120);
const CLIENTS = 24;

async function openDescriptors(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length;
}

async function residentMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

test(`soak: ${CLIENTS} clients for ${SOAK_SECONDS} s, no errors, no descriptor or memory growth`, async () => {
  const work = await makeTempDir('soak');
  const upstream = await startRegistry({ name: 'soak-upstream' });
  const layout = await writeSampleLayout(join(work, 'layout'), [
    { tag: 'a', layers: [{ size: 4 * 1024 * 1024, seed: 'soak-a' }, { size: 256 * 1024, seed: 'soak-a2' }] },
    { tag: 'b', layers: [{ size: 1024 * 1024, seed: 'soak-b' }] },
  ]);
  await pushSampleLayout(layout, { registryHost: upstream.host, repository: 'library/soak' });
  // Every soak client shares 127.0.0.1, so the per-client limits that guard an office LAN are lifted here.
  const settings = { limits: { perClientConcurrency: 1000, perClientRequestsPerSecond: 100_000, idleTimeoutSeconds: 120 } };
  const layover = await startLayoverProcess({ dataDir: join(work, 'data'), upstream: upstream.url, settings });
  const pid = layover.process.pid;
  const layers = layout.tags.flatMap((tag) => tag.manifests[0]!.layers);
  const agent = new Agent({ connections: CLIENTS * 2 });
  const counts = { requests: 0, errors: 0, bytes: 0 };
  const errors: string[] = [];
  const call = async (path: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') => {
    try {
      const response = await request(`${layover.url}${path}`, { method, headers, dispatcher: agent });
      const body = Buffer.from(await response.body.arrayBuffer());
      counts.requests += 1;
      counts.bytes += body.length;
      if (response.statusCode >= 400) throw new Error(`${method} ${path} -> ${response.statusCode}`);
    } catch (error) {
      counts.errors += 1;
      if (errors.length < 5) errors.push((error as Error).message);
    }
  };
  const oneRound = async (client: number, round: number) => {
    const layer = layers[(client + round) % layers.length]!;
    await call(`/v2/library/soak/manifests/${round % 2 ? 'a' : 'b'}`, { accept: 'application/vnd.oci.image.manifest.v1+json' });
    await call(`/v2/library/soak/blobs/${layer.digest}`, round % 3 === 0 ? { range: `bytes=${round % 1000}-${(round % 1000) + 4095}` } : {});
    await call(`/v2/library/soak/blobs/${layer.digest}`, {}, 'HEAD');
    await call('/v2/library/soak/tags/list?n=1');
  };
  try {
    const deadline = Date.now() + SOAK_SECONDS * 1000;
    const warmUpUntil = Date.now() + Math.min(20_000, (SOAK_SECONDS * 1000) / 4);
    let baseline: { fds: number; rss: number } | undefined;
    let peakRss = 0;
    const sampler = (async () => {
      while (Date.now() < deadline) {
        await sleep(1000);
        const rss = await residentMiB(pid);
        peakRss = Math.max(peakRss, rss);
        if (!baseline && Date.now() > warmUpUntil) baseline = { fds: await openDescriptors(pid), rss };
      }
    })();
    await Promise.all(Array.from({ length: CLIENTS }, async (_, client) => {
      for (let round = 0; Date.now() < deadline; round++) await oneRound(client, round);
    }));
    await sampler;
    await agent.close();
    await sleep(500);
    const end = { fds: await openDescriptors(pid), rss: await residentMiB(pid) };
    console.log(`soak: ${counts.requests} requests, ${counts.errors} errors, ${(counts.bytes / 1024 / 1024).toFixed(0)} MiB served, ` +
      `fds ${baseline?.fds} -> ${end.fds} (idle), rss ${baseline?.rss.toFixed(0)} -> ${end.rss.toFixed(0)} MiB, peak ${peakRss.toFixed(0)} MiB`);
    assert.equal(counts.errors, 0, errors.join('; '));
    assert.ok(counts.requests > CLIENTS * 10, 'the soak did real work');
    assert.ok(baseline, 'the soak ran past its warm-up');
    assert.ok(end.fds <= baseline.fds, `descriptors do not leak: ${baseline.fds} under load, ${end.fds} idle`);
    assert.ok(end.rss < baseline.rss + 64, `memory does not grow: ${baseline.rss.toFixed(0)} -> ${end.rss.toFixed(0)} MiB`);
  } finally {
    await layover.process.stop();
    await upstream.destroy();
    await removeTempDir(work);
  }
});
