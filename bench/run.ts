/**
 * `npm run bench`: Layover against CNCF distribution's proxy and nginx, on
 * loopback, in one run (issue 6). Starts the upstream registry, the link
 * shaper in front of it, Layover (`layover serve`, compiled), the
 * distribution proxy, and, for the warm case, nginx; runs the cases; writes
 * bench/results/results.json and results.md. See bench/options.ts for flags.
 *
 *   node --import tsx bench/run.ts            # the full run (about 10 minutes on 2 cores)
 *   node --import tsx bench/run.ts --quick    # a smoke run on tiny sizes
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { LinkShaper } from '../src-main/demo/link-shaper.js';
import { makeTempDir, removeTempDir, runChecked, stopAllProcesses } from '../test/support/process.js';
import { REGISTRY_BINARY, startRegistry, type TestRegistry } from '../test/support/registry.js';
import { SKOPEO_BINARY } from '../test/support/skopeo.js';
import { runBlobMemory } from './cases/blob-memory.js';
import { runCold } from './cases/cold.js';
import { runConcurrent } from './cases/concurrent.js';
import { dockerUnavailable, runDocker } from './cases/docker.js';
import { runGrown } from './cases/grown.js';
import { runMesh } from './cases/mesh.js';
import { runTags } from './cases/tags.js';
import { runWarm } from './cases/warm.js';
import type { BenchContext } from './context.js';
import { prepareImages } from './images.js';
import { describeMachine, describeRevision } from './machine.js';
import { describeOptions, parseOptions, USAGE, type BenchOptions } from './options.js';
import { buildTable, renderMarkdown, writeReadme, writeReport, type BenchResults, type Report } from './report.js';
import { NGINX_BINARY, startLayoverServer, startPeerServer, type LayoverServer, type PeerServer } from './servers.js';

const REPO_ROOT = join(import.meta.dirname, '..');

export interface BenchRun {
  report: Report;
  markdown: string;
  files: { json: string; markdown: string };
}

export async function runBench(options: BenchOptions, log: (line: string) => void = timestamped()): Promise<BenchRun> {
  const started = performance.now();
  const machine = describeMachine();
  const revision = describeRevision(REPO_ROOT);
  checkPrograms();
  if (options.build) await buildLayover(log);
  log(`bench: ${describeOptions(options)}`);
  const results = await withEnvironment(options, log, (ctx) => runCases(ctx));
  const report: Report = {
    machine,
    revision,
    options: serializableOptions(options),
    durationSeconds: (performance.now() - started) / 1000,
    table: buildTable(results, options),
    results,
  };
  const files = await writeReport(options.outDir, report, options);
  if (options.readme) {
    await writeReadme(join(REPO_ROOT, 'README.md'), report, options);
    log('wrote the results into README.md');
  }
  return { report, markdown: renderMarkdown(report, options), files };
}

async function runCases(ctx: BenchContext): Promise<BenchResults> {
  const { cases } = ctx.options;
  const results: BenchResults = { skipped: {} };
  if (cases.has('warm')) results.warm = await runWarm(ctx);
  if (cases.has('cold')) results.cold = await runCold(ctx);
  if (cases.has('concurrent')) results.concurrent = await runConcurrent(ctx);
  if (cases.has('tags')) results.tags = await runTags(ctx);
  if (cases.has('docker')) {
    const unavailable = ctx.options.docker === 'off' ? 'turned off (--docker off)' : dockerUnavailable();
    if (unavailable && ctx.options.docker === 'on') throw new Error(`case 6 (docker pull) cannot run: ${unavailable}`);
    if (unavailable) results.skipped.docker = unavailable;
    else results.docker = await runDocker(ctx);
  }
  if (cases.has('memory')) results.memory = await runBlobMemory(ctx);
  if (cases.has('grown')) results.grown = await runGrown(ctx);
  if (cases.has('mesh')) Object.assign(results, { mesh: await runMesh(ctx) });
  // Courier bundles: only when chosen (not loaded otherwise); writes bundles.json and its README block.
  if (bundlesChosen(ctx.options)) Object.assign(results, { bundles: await (await import('./cases/bundles.js')).runBundles(ctx) });
  return results;
}

/** The bundles case runs in a full run, when --cases names it, or with BENCH_BUNDLES=1; a run of other cases leaves it out. */
function bundlesChosen(options: BenchOptions): boolean {
  return options.cases.has('bundles') || process.env.BENCH_BUNDLES === '1';
}

/** Starts the upstream, the link, the images and both caches; always tears them down. */
async function withEnvironment<T>(options: BenchOptions, log: (line: string) => void, work: (ctx: BenchContext) => Promise<T>): Promise<T> {
  const workDir = await makeTempDir('bench');
  let upstream: TestRegistry | undefined;
  let shaper: LinkShaper | undefined;
  let layover: LayoverServer | undefined;
  let peer: PeerServer | undefined;
  try {
    upstream = await startRegistry({ name: 'upstream' });
    shaper = await LinkShaper.start({ target: { host: '127.0.0.1', port: upstream.port }, link: options.link });
    const images = await prepareImages(options, upstream, workDir, log);
    layover = await startLayoverServer({ upstream: shaper.url, workDir, name: 'layover', ...(options.cpuProfileDir ? { cpuProfileDir: options.cpuProfileDir } : {}) });
    peer = await startPeerServer(shaper.url);
    log(`upstream ${upstream.url}, link ${shaper.url}, Layover ${layover.url}, distribution ${peer.url}`);
    return await work({ options, workDir, upstream, shaper, layover, peer, images, log });
  } finally {
    await layover?.stop().catch(() => undefined);
    await peer?.stop().catch(() => undefined);
    await shaper?.stop();
    await upstream?.destroy().catch(() => undefined);
    await stopAllProcesses({ graceMs: 2_000 });
    await removeTempDir(workDir);
  }
}

function checkPrograms(): void {
  const missing = [REGISTRY_BINARY, SKOPEO_BINARY, NGINX_BINARY].filter((path) => !existsSync(path));
  if (missing.length > 0) throw new Error(`the bench needs ${missing.join(', ')}: install the Debian packages docker-registry, skopeo and nginx-light`);
}

/** The bench runs the compiled `layover serve`, so dist/ must match the sources. */
async function buildLayover(log: (line: string) => void): Promise<void> {
  log('building Layover (tsc -p tsconfig.json)');
  await runChecked(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO_ROOT, 'tsconfig.json')], { cwd: REPO_ROOT });
}

function serializableOptions(options: BenchOptions): Record<string, unknown> {
  const { cases, outDir: _outDir, cpuProfileDir: _profiles, build: _build, ...rest } = options;
  return { ...rest, cases: [...cases] };
}

function timestamped(): (line: string) => void {
  const started = performance.now();
  return (line) => console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options === 'help') {
    console.log(USAGE);
    return;
  }
  const run = await runBench(options);
  console.log(`\n${run.markdown}\nWrote ${run.files.json} and ${run.files.markdown}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.stack ?? error.message : error);
    process.exitCode = 1;
  });
}
