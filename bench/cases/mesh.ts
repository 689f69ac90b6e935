/**
 * Case: the office mesh (issue 15). Three laptops, each a network namespace
 * with its own `layover serve --mesh`, on one bridge; the WAN is the link
 * shaper in front of the registry (test/mesh/netns/office.ts, as in the
 * tests). Measured in one run:
 * - simultaneous: the three pull the same new image at the same moment; WAN
 *   bytes as a multiple of the image (1.0× is the goal: one fetcher elected per
 *   blob), and the time until the last laptop is done;
 * - staggered: one laptop pulls over the WAN, then the second and the third
 *   pull the same image, which comes from the LAN; their time as a ratio of the
 *   WAN pull's.
 * Needs root (network namespaces): without it the case is skipped with the reason.
 * Writes its figures into README.md between <!-- bench-mesh:start/end --> when the run writes the README.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { startOffice } from '../../test/mesh/netns/office.js';
import type { BenchContext } from '../context.js';
import { describeRevision } from '../machine.js';

const MiB = 1024 * 1024;
const README = join(import.meta.dirname, '..', '..', 'README.md');
const BLOCK = ['<!-- bench-mesh:start -->', '<!-- bench-mesh:end -->'] as const;

export interface MeshBenchResult {
  link: string;
  imageBytes: number;
  simultaneous: { wanBytes: number; wanRatio: number; lastDoneMs: number; laptopMs: number[] };
  staggered: { wanMs: number; lanMs: number[]; lanToWanRatio: number[]; wanBlobGets: number; warmMs: number };
  revision?: string;
}

export async function runMesh(ctx: BenchContext): Promise<MeshBenchResult | { skipped: string }> {
  if (process.getuid?.() !== 0) return { skipped: 'needs root for network namespaces' };
  const quick = ctx.options.quick;
  const size = quick ? 4 * MiB : 24 * MiB;
  const link = '50mbit,40ms';
  const layers = (seed: string) => [{ size, seed: `${seed}-a` }, { size: size / 2, seed: `${seed}-b` }, { size: size / 4, seed: `${seed}-c` }];
  const office = await startOffice({
    images: [{ tag: 'simultaneous', layers: layers('mesh-bench-sim') }, { tag: 'staggered', layers: layers('mesh-bench-stag') }],
    laptops: ['l1', 'l2', 'l3'],
    wanLink: link,
  });
  try {
    const laptops = ['l1', 'l2', 'l3'];
    for (const name of laptops) {
      while ((await office.mesh(name)).peers.filter((peer) => peer.state === 'live' && peer.found === 'mdns').length < 2) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const imageBytes = office.imageBlobBytes('simultaneous');
    const downBefore = await office.wanBytesDown();
    const started = performance.now();
    const laptopMs = await Promise.all(laptops.map((name) => office.pull(name, 'simultaneous')));
    const lastDoneMs = performance.now() - started;
    const wanBytes = (await office.wanBytesDown()) - downBefore;
    ctx.log(`mesh simultaneous: 3 laptops in ${(lastDoneMs / 1000).toFixed(2)} s, ${(wanBytes / imageBytes).toFixed(3)}× the image over the WAN`);
    await office.settleWanLog();
    const since = office.wanLog.length;
    const wanMs = await office.pull('l1', 'staggered');
    const lanMs = [await office.pull('l2', 'staggered'), await office.pull('l3', 'staggered')];
    // The floor: the same pull again on the first laptop, from its own cache.
    const warmMs = await office.pull('l1', 'staggered');
    await office.settleWanLog();
    const wanBlobGets = office.blobGets('staggered', since).reduce((sum, gets) => sum + gets.length, 0);
    const result: MeshBenchResult = {
      link, imageBytes,
      simultaneous: { wanBytes, wanRatio: wanBytes / imageBytes, lastDoneMs, laptopMs },
      staggered: { wanMs, lanMs, lanToWanRatio: lanMs.map((ms) => ms / wanMs), wanBlobGets, warmMs },
      revision: describeRevision(join(import.meta.dirname, '..', '..')),
    };
    ctx.log(`mesh staggered: WAN pull ${(wanMs / 1000).toFixed(2)} s, LAN pulls ${lanMs.map((ms) => (ms / 1000).toFixed(2)).join(' s, ')} s (${result.staggered.lanToWanRatio.map((r) => r.toFixed(2)).join(', ')} of the WAN time)`);
    if (ctx.options.readme) await writeReadmeBlock(result);
    return result;
  } finally {
    await office.stop();
  }
}

async function writeReadmeBlock(result: MeshBenchResult): Promise<void> {
  const text = await readFile(README, 'utf8');
  const from = text.indexOf(BLOCK[0]);
  const to = text.indexOf(BLOCK[1]);
  if (from === -1 || to < from) return;
  const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const body = [
    `<!-- Written by \`npm run bench\` (bench/cases/mesh.ts). Do not edit by hand. -->`,
    `Measured on ${result.revision} with ${cpus().length} cores shared by the three laptops, the WAN and the clients: three laptops (network namespaces, one \`layover serve --mesh\` each, found by mDNS), a ${mib(result.imageBytes)} image (config and 3 layers), WAN ${result.link} (the link shaper).`,
    '',
    '| | figure |',
    '| --- | --- |',
    `| 3 laptops pull at the same moment: bytes over the WAN | ${result.simultaneous.wanRatio.toFixed(3)}× the image (${mib(result.simultaneous.wanBytes)}, manifests and headers included) |`,
    `| … until the last laptop has it | ${s(result.simultaneous.lastDoneMs)} |`,
    `| staggered: first laptop, over the WAN | ${s(result.staggered.wanMs)} |`,
    `| staggered: second and third laptops, from the LAN | ${result.staggered.lanMs.map(s).join(', ')} (${result.staggered.lanToWanRatio.map((r) => `${r.toFixed(2)}×`).join(', ')} the WAN pull) |`,
    `| the same pull from the laptop's own cache (skopeo's floor here) | ${s(result.staggered.warmMs)} |`,
    `| staggered: blob fetches over the WAN for four pulls | ${result.staggered.wanBlobGets} (the image has 4 blobs) |`,
    '',
  ].join('\n');
  await writeFile(README, `${text.slice(0, from + BLOCK[0].length)}\n${body}${text.slice(to)}`);
}

/** `node --import tsx bench/cases/mesh.ts [--quick]`: this case alone (as root), writing its README block unless --quick. */
if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  const ctx = { options: { quick, readme: !quick }, log: (line: string) => console.log(line) } as unknown as BenchContext;
  const result = await runMesh(ctx);
  console.log(JSON.stringify(result, null, 2));
}
