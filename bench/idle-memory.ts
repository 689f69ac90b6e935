/**
 * Idle resident memory of a fresh `layover serve` (issue 13, part 6: under
 * 80 MiB), started with the node flags of the installed command
 * (bin/layover.js's #! line), and what it is made of: the npm packages the process imported,
 * each with what importing it alone costs a bare Node. Runs the compiled
 * CLI (run `npx tsc -p tsconfig.json` first, or `npm run bench`, which builds).
 *
 *   node --import tsx bench/idle-memory.ts [--starts 3] [--settle-seconds 5] [--json FILE]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { makeTempDir, removeTempDir, sleep } from '../test/support/process.js';
import { currentRss } from './memory.js';
import { startLayoverServer, type LayoverServer } from './servers.js';
import { median } from './stats.js';

const MiB = 1024 * 1024;
const REPO_ROOT = join(import.meta.dirname, '..');
const TRACER = join(import.meta.dirname, 'support', 'package-trace.mjs');
/** Nothing listens here: a fresh serve must not need its upstream to start. */
const NO_UPSTREAM = 'http://127.0.0.1:9';

export interface IdleMemory {
  /** VmRSS of the process after it settled, bytes. */
  rssBytes: number;
  /** Packages the process imported, in load order. */
  packages: string[];
}

/** Starts a fresh `layover serve`, lets it settle, reads its resident memory and the packages it loaded. */
export async function measureIdleMemory(options: { settleMs?: number; trace?: boolean } = {}): Promise<IdleMemory> {
  const workDir = await makeTempDir('idle-memory');
  const traceFile = join(workDir, 'packages.txt');
  writeFileSync(traceFile, '');
  let server: LayoverServer | undefined;
  try {
    server = await startLayoverServer({
      upstream: NO_UPSTREAM,
      workDir,
      name: 'idle',
      nodeArgs: options.trace ? ['--import', pathToFileURL(TRACER).href] : [],
      ...(options.trace ? { env: { LAYOVER_PACKAGE_TRACE: traceFile } } : {}),
    });
    await sleep(options.settleMs ?? 5_000);
    const rssBytes = currentRss(server.pids());
    return { rssBytes, packages: readFileSync(traceFile, 'utf8').split('\n').filter(Boolean) };
  } finally {
    await server?.stop().catch(() => undefined);
    await removeTempDir(workDir);
  }
}

/** The median idle memory over several fresh starts (one start's figure moves by a few MiB). */
export async function medianIdleMemory(starts: number, settleMs?: number): Promise<{ rssBytes: number; samples: number[] }> {
  const samples: number[] = [];
  for (let i = 0; i < starts; i++) samples.push((await measureIdleMemory(settleMs === undefined ? {} : { settleMs })).rssBytes);
  return { rssBytes: median(samples), samples };
}

/** What importing one package costs a bare Node process, in resident bytes (its own dependencies included). */
export function importCost(pkg: string): number {
  const script = `const before = process.memoryUsage().rss;
import(${JSON.stringify(pkg)}).catch(() => undefined).then(() => setTimeout(() => console.log(process.memoryUsage().rss - before), 200));`;
  try {
    return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT, encoding: 'utf8' }).trim());
  } catch {
    return Number.NaN;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'settle-seconds': { type: 'string' }, starts: { type: 'string' }, json: { type: 'string' } } });
  const settleMs = Number(values['settle-seconds'] ?? 5) * 1000;
  const starts = Number(values.starts ?? 3);
  const { rssBytes, samples } = await medianIdleMemory(starts, settleMs);
  console.log(`idle resident memory of a fresh layover serve: ${(rssBytes / MiB).toFixed(1)} MiB, median of ${starts} starts (${samples.map((s) => (s / MiB).toFixed(1)).join(', ')}); goal < 80 MiB`);
  const traced = await measureIdleMemory({ settleMs, trace: true });
  const costs = traced.packages.map((pkg) => ({ pkg, bytes: importCost(pkg) })).sort((a, b) => b.bytes - a.bytes);
  console.log('packages it imported, with what importing each alone costs a bare Node:');
  for (const { pkg, bytes } of costs) console.log(`  ${pkg.padEnd(28)} ${Number.isFinite(bytes) ? `${(bytes / MiB).toFixed(1)} MiB` : 'n/a'}`);
  if (values.json) writeFileSync(values.json, `${JSON.stringify({ rssBytes, samples, packages: costs }, null, 2)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.stack ?? error.message : error);
    process.exitCode = 1;
  });
}
