/**
 * Courier bundles (issue 17): export and import throughput against skopeo
 * copying the same image to and from an OCI layout, in one run.
 *
 *   export: Layover A (holding the image) writes a bundle directory,
 *           vs `skopeo copy docker://A/... oci:DIR:tag` (every blob a cache hit);
 *   import: Layover B (no upstream) imports that bundle, every blob verified,
 *           vs `skopeo copy oci:DIR:tag docker://registry/...` into an empty docker-registry.
 *
 * One run each, MB/s of image bytes. Runs in the full `npm run bench` (every
 * case chosen) or with BENCH_BUNDLES=1. Writes <outDir>/bundles.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { LayoverApi } from '../../src-main/api/layover-api.js';
import type { BundleTask } from '../../src-main/api/types.js';
import { startLayover, type LayoverUnderTest } from '../../test/support/layover.js';
import { freePort } from '../../test/support/ports.js';
import { makeTempDir, removeTempDir } from '../../test/support/process.js';
import { startRegistry, type TestRegistry } from '../../test/support/registry.js';
import { skopeoCopy } from '../../test/support/skopeo.js';
import type { BenchContext } from '../context.js';
import { CASES } from '../options.js';

export interface BundlesResult {
  imageBytes: number;
  /** MB/s (10^6 bytes per second) of image bytes. */
  export: { layover: number; skopeo: number };
  import: { layover: number; skopeo: number };
}

export async function runBundles(ctx: BenchContext): Promise<BundlesResult | undefined> {
  if (ctx.options.cases.size !== CASES.length && process.env.BENCH_BUNDLES !== '1') return undefined;
  const image = ctx.images.cold.at(-1)!;
  const reference = `${image.repository}:${image.tag}`;
  const work = await makeTempDir('bench-bundles');
  const started: Array<LayoverUnderTest | TestRegistry> = [];
  try {
    const a = await startLayover({ upstream: ctx.upstream.url, dataDir: join(work, 'a') });
    started.push(a);
    await a.instance.api.prefetch({ repository: image.repository, tags: { kind: 'exact', tags: [image.tag] }, platforms: 'all' });
    await jobsDone(a.instance.api);

    const bundle = join(work, 'bundle');
    const layoverExportMs = await timed(async () => {
      const task = await a.instance.api.startExport({ selections: [{ kind: 'repository', repository: image.repository, tags: { kind: 'exact', tags: [image.tag] }, platforms: 'all' }], out: bundle });
      await taskDone(a.instance.api, task);
    });
    const skopeoExportMs = await timed(() => skopeoCopy({ source: `docker://${a.host}/${reference}`, destination: `oci:${join(work, 'skopeo-layout')}:${image.tag}`, srcTlsVerify: false, all: true, extraArgs: ['--preserve-digests'] }));

    const b = await startLayover({ upstream: `http://127.0.0.1:${await freePort()}`, dataDir: join(work, 'b') });
    started.push(b);
    const layoverImportMs = await timed(async () => taskDone(b.instance.api, await b.instance.api.startImport({ path: bundle })));
    const registry = await startRegistry({ name: 'bench-bundles-target' });
    started.push(registry);
    const skopeoImportMs = await timed(() => skopeoCopy({ source: `oci:${bundle}:${reference}`, destination: `docker://${registry.host}/${reference}`, destTlsVerify: false, all: true, extraArgs: ['--preserve-digests'] }));

    const rate = (ms: number) => Math.round((image.totalBytes / 1e6 / (ms / 1000)) * 10) / 10;
    const result: BundlesResult = {
      imageBytes: image.totalBytes,
      export: { layover: rate(layoverExportMs), skopeo: rate(skopeoExportMs) },
      import: { layover: rate(layoverImportMs), skopeo: rate(skopeoImportMs) },
    };
    ctx.log(`bundles: ${(image.totalBytes / 1e6).toFixed(1)} MB image; export ${result.export.layover} MB/s (skopeo to an OCI layout ${result.export.skopeo} MB/s); import ${result.import.layover} MB/s, every blob verified (skopeo from the layout ${result.import.skopeo} MB/s)`);
    await mkdir(ctx.options.outDir, { recursive: true });
    await writeFile(join(ctx.options.outDir, 'bundles.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    for (const server of started.reverse()) await ('destroy' in server ? server.destroy() : server.stop()).catch(() => undefined);
    await removeTempDir(work);
  }
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

async function taskDone(api: LayoverApi, started: BundleTask): Promise<void> {
  for (;;) {
    const task = (await api.listBundleTasks()).find((candidate) => candidate.id === started.id);
    if (task?.state === 'done') return;
    if (!task || task.state === 'failed') throw new Error(`bundle ${started.kind} failed: ${task?.error ?? 'gone'}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function jobsDone(api: LayoverApi): Promise<void> {
  for (;;) {
    const jobs = await api.listJobs();
    if (jobs.length > 0 && jobs.every((job) => job.state === 'done')) return;
    const failed = jobs.find((job) => job.state === 'failed' || job.state === 'cancelled');
    if (failed) throw new Error(`prefetch for the bundles case failed: ${failed.error ?? failed.state}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
