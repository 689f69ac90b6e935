/**
 * Courier bundles (issue 17): export and import throughput against skopeo
 * copying the same image to and from an OCI layout, in one run.
 *
 *   export: Layover A (holding the image) writes a bundle directory,
 *           vs `skopeo copy docker://A/... oci:DIR:tag` (every blob a cache hit);
 *   import: Layover B (no upstream) imports that bundle, every blob verified,
 *           vs `skopeo copy oci:DIR:tag docker://registry/...` into an empty docker-registry;
 *   .tar.zst: the same export written zstd-compressed, and imported by Layover C
 *           (skopeo has no zstd archive transport to compare with).
 *
 * One run each, MB/s of image bytes. bench/run.ts runs it in the full
 * `npm run bench`, with --cases bundles, or with BENCH_BUNDLES=1; alone:
 *   node --import tsx bench/cases/bundles.ts [--mib N] [--readme]
 * Writes <outDir>/bundles.json and, when the run writes the README, its
 * block between <!-- bench-bundles:start --> and <!-- bench-bundles:end -->.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { LayoverApi } from '../../src-main/api/layover-api.js';
import type { BundleTask } from '../../src-main/api/types.js';
import { writeSampleLayout } from '../../src-main/demo/sample-images.js';
import { startLayover, type LayoverUnderTest } from '../../test/support/layover.js';
import { freePort } from '../../test/support/ports.js';
import { makeTempDir, removeTempDir } from '../../test/support/process.js';
import { startRegistry, type TestRegistry } from '../../test/support/registry.js';
import { pushSampleLayout, skopeoCopy } from '../../test/support/skopeo.js';
import type { BenchContext } from '../context.js';
import { describeRevision } from '../machine.js';
import { replaceBlock } from '../report.js';

const REPO_ROOT = join(import.meta.dirname, '..', '..');
const README = join(REPO_ROOT, 'README.md');
export const README_MARKERS = ['<!-- bench-bundles:start -->', '<!-- bench-bundles:end -->'] as const;

export interface BundlesResult {
  imageBytes: number;
  layers: number;
  /** MB/s (10^6 bytes per second) of image bytes. */
  export: { layover: number; skopeo: number };
  import: { layover: number; skopeo: number };
  /** The same export as a .tar.zst, and its import; bytes is the file's size. */
  zstd: { export: number; import: number; bytes: number };
  revision: string;
  date: string;
}

export interface BundlesInput {
  /** The registry holding the image (Layover A's upstream). */
  upstreamUrl: string;
  image: { repository: string; tag: string; totalBytes: number; layers: number };
  outDir: string;
  readme: boolean;
  log(line: string): void;
}

/** As a case of `npm run bench`: the largest cold image, from the bench's upstream. */
export async function runBundles(ctx: BenchContext): Promise<BundlesResult> {
  const image = ctx.images.cold.at(-1)!;
  return measureBundles({ upstreamUrl: ctx.upstream.url, image, outDir: ctx.options.outDir, readme: ctx.options.readme, log: ctx.log });
}

export async function measureBundles(input: BundlesInput): Promise<BundlesResult> {
  const { image } = input;
  const reference = `${image.repository}:${image.tag}`;
  const selection = { kind: 'repository' as const, repository: image.repository, tags: { kind: 'exact' as const, tags: [image.tag] }, platforms: 'all' as const };
  const work = await makeTempDir('bench-bundles');
  const started: Array<LayoverUnderTest | TestRegistry> = [];
  try {
    const a = await startLayover({ upstream: input.upstreamUrl, dataDir: join(work, 'a') });
    started.push(a);
    await a.instance.api.prefetch({ repository: image.repository, tags: { kind: 'exact', tags: [image.tag] }, platforms: 'all' });
    await jobsDone(a.instance.api);

    const bundle = join(work, 'bundle');
    const layoverExportMs = await timed(async () => taskDone(a.instance.api, await a.instance.api.startExport({ selections: [selection], out: bundle })));
    const skopeoExportMs = await timed(() => skopeoCopy({ source: `docker://${a.host}/${reference}`, destination: `oci:${join(work, 'skopeo-layout')}:${image.tag}`, srcTlsVerify: false, all: true, extraArgs: ['--preserve-digests'] }));
    const zst = join(work, 'bundle.tar.zst');
    const zstdExportMs = await timed(async () => taskDone(a.instance.api, await a.instance.api.startExport({ selections: [selection], out: zst })));

    const b = await startLayover({ upstream: `http://127.0.0.1:${await freePort()}`, dataDir: join(work, 'b') });
    started.push(b);
    const layoverImportMs = await timed(async () => taskDone(b.instance.api, await b.instance.api.startImport({ path: bundle })));
    const registry = await startRegistry({ name: 'bench-bundles-target' });
    started.push(registry);
    const skopeoImportMs = await timed(() => skopeoCopy({ source: `oci:${bundle}:${reference}`, destination: `docker://${registry.host}/${reference}`, destTlsVerify: false, all: true, extraArgs: ['--preserve-digests'] }));
    const c = await startLayover({ upstream: `http://127.0.0.1:${await freePort()}`, dataDir: join(work, 'c') });
    started.push(c);
    const zstdImportMs = await timed(async () => taskDone(c.instance.api, await c.instance.api.startImport({ path: zst })));

    const rate = (ms: number) => Math.round((image.totalBytes / 1e6 / (ms / 1000)) * 10) / 10;
    const result: BundlesResult = {
      imageBytes: image.totalBytes,
      layers: image.layers,
      export: { layover: rate(layoverExportMs), skopeo: rate(skopeoExportMs) },
      import: { layover: rate(layoverImportMs), skopeo: rate(skopeoImportMs) },
      zstd: { export: rate(zstdExportMs), import: rate(zstdImportMs), bytes: (await stat(zst)).size },
      revision: describeRevision(REPO_ROOT),
      date: new Date().toISOString(),
    };
    input.log(`bundles: ${(image.totalBytes / 1e6).toFixed(1)} MB image; export ${result.export.layover} MB/s (skopeo to an OCI layout ${result.export.skopeo} MB/s); `
      + `import ${result.import.layover} MB/s, every blob verified (skopeo from the layout ${result.import.skopeo} MB/s); .tar.zst export ${result.zstd.export} MB/s, import ${result.zstd.import} MB/s`);
    await mkdir(input.outDir, { recursive: true });
    await writeFile(join(input.outDir, 'bundles.json'), `${JSON.stringify(result, null, 2)}\n`);
    if (input.readme) await writeReadmeBlock(result);
    return result;
  } finally {
    for (const server of started.reverse()) await ('destroy' in server ? server.destroy() : server.stop()).catch(() => undefined);
    await removeTempDir(work);
  }
}

/** The README's bundles block, between its markers (left as it is when they are missing). */
export function renderBundles(result: BundlesResult): string {
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
  const ratio = (ours: number, theirs: number) => (theirs > 0 ? `${(ours / theirs).toFixed(2)}×` : 'n/a');
  return [
    `Measured on ${result.revision}, ${result.date.slice(0, 16).replace('T', ' ')} UTC, ${cpus().length} cores: one ${mb(result.imageBytes)} image (config and ${result.layers} layers), one run each, MB/s of image bytes (10^6 bytes per second).`,
    '',
    '| | Layover | skopeo, to or from an OCI layout | Layover ÷ skopeo |',
    '| --- | --- | --- | --- |',
    `| export: the cache to a bundle directory | ${result.export.layover} | ${result.export.skopeo} (\`copy docker://A/… oci:DIR\`) | ${ratio(result.export.layover, result.export.skopeo)} |`,
    `| import: a bundle directory into an empty cache, every blob verified | ${result.import.layover} | ${result.import.skopeo} (\`copy oci:DIR docker://registry/…\`) | ${ratio(result.import.layover, result.import.skopeo)} |`,
    `| export to a .tar.zst (${mb(result.zstd.bytes)} written) | ${result.zstd.export} | — | |`,
    `| import of that .tar.zst | ${result.zstd.import} | — | |`,
    '',
  ].join('\n');
}

async function writeReadmeBlock(result: BundlesResult): Promise<void> {
  const text = await readFile(README, 'utf8');
  await writeFile(README, replaceBlock(text, README_MARKERS, renderBundles(result)));
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

async function taskDone(api: LayoverApi, started: BundleTask): Promise<void> {
  for (;;) {
    const task = (await api.listBundleTasks()).find((candidate) => candidate.id === started.id);
    if (task?.state === 'done') {
      if (task.imported && task.imported.refused.length > 0) throw new Error(`bundle import refused ${JSON.stringify(task.imported.refused)}`);
      return;
    }
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

/** `node --import tsx bench/cases/bundles.ts [--mib N] [--readme]`: this case alone, on an image of its own. */
if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { mib: { type: 'string', default: '64' }, readme: { type: 'boolean', default: false }, out: { type: 'string' } } });
  const MiB = 1024 * 1024;
  const total = Number(values.mib) * MiB;
  const work = await makeTempDir('bench-bundles-alone');
  const upstream = await startRegistry({ name: 'bench-bundles-upstream' });
  try {
    const layout = await writeSampleLayout(join(work, 'layout'), [{
      tag: 'bench',
      layers: [0.6, 0.25, 0.1, 0.05].map((share, i) => ({ size: Math.max(1024, Math.round(total * share)), seed: `bench-bundles-${i}` })),
    }]);
    await pushSampleLayout(layout, { registryHost: upstream.host, repository: 'library/bench-bundles' });
    const result = await measureBundles({
      upstreamUrl: upstream.url,
      image: { repository: 'library/bench-bundles', tag: 'bench', totalBytes: layout.tags[0]!.totalBytes, layers: 4 },
      outDir: values.out ?? join(REPO_ROOT, 'bench', 'results'),
      readme: values.readme,
      log: (line) => console.log(line),
    });
    console.log(renderBundles(result));
  } finally {
    await upstream.destroy();
    await removeTempDir(work);
  }
}
