/**
 * Turns the measurements into the table of issue 6 (case, Layover, peer,
 * nginx, ratio, target, met?) and writes results.json (everything, raw
 * samples included) and results.md. Targets are ratios within this run; no
 * absolute time is ever a pass/fail test.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeLink } from '../src-main/demo/link-shaper.js';
import type { BlobMemoryResult } from './cases/blob-memory.js';
import type { ColdResult } from './cases/cold.js';
import type { ConcurrentResult } from './cases/concurrent.js';
import type { DockerResult } from './cases/docker.js';
import type { GrownResult, StoreMeasurement } from './cases/grown.js';
import type { TagsResult } from './cases/tags.js';
import type { WarmResult } from './cases/warm.js';
import type { MachineInfo } from './machine.js';
import { describeOptions, type BenchOptions } from './options.js';
import type { ServerName } from './servers.js';
import { max, median, percentile, ratio } from './stats.js';

export interface BenchResults {
  warm?: WarmResult;
  cold?: ColdResult;
  concurrent?: ConcurrentResult;
  tags?: TagsResult;
  docker?: DockerResult;
  memory?: BlobMemoryResult;
  grown?: GrownResult;
  /** Cases that did not run, and why. */
  skipped: Record<string, string>;
}

export interface Row {
  case: string;
  layover: string;
  peer: string;
  nginx: string;
  ratio: string;
  target: string;
  met: 'yes' | 'no' | '—';
}

export interface Report {
  machine: MachineInfo;
  /** The Layover commit measured. */
  revision: string;
  options: Record<string, unknown>;
  durationSeconds: number;
  table: Row[];
  results: BenchResults;
}

const MiB = 1024 * 1024;
/** Bytes over the link may exceed the image by HTTP headers and the odd small request. */
const SINGLE_FLIGHT_TOLERANCE = 1.02;

export function buildTable(results: BenchResults, options: BenchOptions): Row[] {
  return [
    ...warmRows(results.warm),
    ...coldRows(results.cold, options),
    ...concurrentRows(results.concurrent),
    ...memoryRows(results),
    ...tagRows(results.tags),
    ...dockerRows(results.docker, results.skipped.docker),
    ...blobMemoryRows(results.memory),
  ];
}

/** Issue 13, part 6: peak memory with many clients on one large blob, against the peer; idle memory of a fresh serve. */
function blobMemoryRows(memory: BlobMemoryResult | undefined): Row[] {
  if (!memory) return [];
  const peaks = (name: ServerName) => memory.peakRssBytes[name];
  const layover = peaks('layover');
  const peer = peaks('distribution');
  const worst = (peak: { cold: number; warm: number } | undefined) => (peak ? Math.max(peak.cold, peak.warm) / MiB : Number.NaN);
  const vsPeer = ratio(worst(layover), worst(peer));
  const both = (peak: { cold: number; warm: number } | undefined) => (peak ? `${fixed(peak.cold / MiB, 0)} / ${fixed(peak.warm / MiB, 0)}` : 'n/a');
  const rows: Row[] = [{
    case: `7. Peak resident memory, ${memory.clients} clients on a ${mib(memory.blobBytes)} blob, cold / warm (MiB)`,
    layover: both(layover),
    peer: both(peer),
    nginx: '—',
    ratio: `${times(vsPeer)} peer (the higher of cold and warm)`,
    target: '≤ 1.25× peer',
    met: verdict(vsPeer <= 1.25, vsPeer),
  }];
  if (memory.idleRssBytes !== undefined) {
    const idle = memory.idleRssBytes / MiB;
    rows.push({
      case: `7. Idle resident memory of a fresh layover serve (MiB, median of ${memory.idleStarts ?? 1} starts)`,
      layover: fixed(idle, 1),
      peer: '—',
      nginx: '—',
      ratio: '—',
      target: '< 80 MiB',
      met: verdict(idle < 80, idle),
    });
  }
  return rows;
}

export interface GrownSummary {
  rps: number;
  p99: number;
}

/** Median over rounds of requests/s, and of each round's p99. */
export function summarizeStore(store: StoreMeasurement): GrownSummary {
  return {
    rps: median(store.samples.map((sample) => sample.requests / sample.seconds)),
    p99: median(store.samples.map((sample) => percentile(sample.latenciesMs, 99))),
  };
}

/** Tolerance for "idle CPU ≈ 0": a tenth of a CPU-second per 10 s. */
const IDLE_CPU_LIMIT = 0.1;

/** The grown-store case (issue 13) as its own table, and its goals with what was measured. */
export function renderGrown(grown: GrownResult, revision: string, date: string): string {
  const fresh = summarizeStore(grown.stores.fresh);
  const big = summarizeStore(grown.stores.grown);
  const number = (value: number) => Math.round(value).toLocaleString('en-US');
  const memory = (store: StoreMeasurement) =>
    `${fixed(store.rssBytes / MiB, 0)} MiB (${fixed(store.rssAnonBytes / MiB, 0)} anonymous + ${fixed(store.rssFileBytes / MiB, 0)} file-backed)`;
  const row = (label: string, store: StoreMeasurement, summary: GrownSummary) =>
    `| ${label} | ${store.indexFileBytes !== undefined ? mib(store.indexFileBytes) : '—'} | ${fixed(store.readyMs / 1000, 2)} s | ${fixed(store.checkDoneMs / 1000, 1)} s | ${number(summary.rps)} | ${fixed(summary.p99, 1)} ms | ${fixed(store.idleCpuPer10s, 2)} s per 10 s | ${memory(store)} |`;
  const rpsRatio = ratio(big.rps, fresh.rps);
  const p99Ratio = ratio(big.p99, fresh.p99);
  const extraMiB = (grown.stores.grown.rssBytes - grown.stores.fresh.rssBytes) / MiB;
  const idle = Math.max(grown.stores.fresh.idleCpuPer10s, grown.stores.grown.idleCpuPer10s);
  const goal = (text: string, measured: string, ok: boolean, ...values: number[]) => `| ${text} | ${measured} | ${verdict(ok, ...values)} |`;
  return [
    `Grown store (issue 13), measured ${date.slice(0, 16).replace('T', ' ')} UTC on Layover ${revision}: the same warm requests (manifest by tag, manifest by digest, a 64 KiB blob) from ${grown.clients} keep-alive clients, office rate limits lifted, against a fresh \`layover serve\` and one whose store was grown to ${number(grown.grown.blobs)} blobs, ${number(grown.grown.repositories)} repositories × ${number(grown.grown.tags / Math.max(1, grown.grown.repositories))} tags (grown in ${fixed(grown.grown.ms / 1000, 0)} s with the store's own code). Both run at once; rounds alternate; medians.`,
    '',
    '| store | index file | ready after start | background check done after | requests/s | p99 | CPU while idle | resident memory after the load |',
    '|---|---|---|---|---|---|---|---|',
    row('fresh', grown.stores.fresh, fresh),
    row(`${number(grown.grown.blobs)} blobs, ${number(grown.grown.repositories)} repos`, grown.stores.grown, big),
    '',
    '| goal | measured | met? |',
    '|---|---|---|',
    goal('requests/s, grown ÷ fresh ≥ 0.8×', times(rpsRatio), rpsRatio >= 0.8, rpsRatio),
    goal('p99, grown ÷ fresh ≤ 2×', times(p99Ratio), p99Ratio <= 2, p99Ratio),
    goal('ready after start ≤ 2 s (grown)', `${fixed(grown.stores.grown.readyMs / 1000, 2)} s (fresh ${fixed(grown.stores.fresh.readyMs / 1000, 2)} s)`, grown.stores.grown.readyMs <= 2000, grown.stores.grown.readyMs),
    goal(`CPU while idle ≈ 0 (≤ ${IDLE_CPU_LIMIT} s per 10 s, after the background check)`, `${fixed(idle, 2)} s per 10 s`, idle <= IDLE_CPU_LIMIT, idle),
    goal('resident memory ≤ fresh + 64 MiB', `fresh + ${fixed(extraMiB, 0)} MiB`, extraMiB <= 64, extraMiB),
  ].join('\n');
}

function warmRows(warm: WarmResult | undefined): Row[] {
  if (!warm) return [];
  return warm.byClients.map(({ clients, megabytesPerSecond: rates }) => {
    const rate = (name: ServerName) => median(rates[name] ?? []);
    const [layover, peer, nginx] = [rate('layover'), rate('distribution'), rate('nginx')];
    const vsPeer = ratio(layover, peer);
    const vsNginx = ratio(layover, nginx);
    return {
      case: `1. Warm serving, ${mib(warm.blobBytes)} blob, ${clients} client${clients === 1 ? '' : 's'} (MB/s)`,
      layover: fixed(layover, 0),
      peer: fixed(peer, 0),
      nginx: fixed(nginx, 0),
      ratio: `${times(vsPeer)} peer, ${times(vsNginx)} nginx`,
      target: '≥ 1.0× peer, ≥ 0.8× nginx',
      met: verdict(vsPeer >= 1 && vsNginx >= 0.8, vsPeer, vsNginx),
    };
  });
}

function coldRows(cold: ColdResult | undefined, options: BenchOptions): Row[] {
  if (!cold) return [];
  const seconds = (target: 'layover' | 'distribution' | 'direct') => median((cold.samples[target] ?? []).map((sample) => sample.ms)) / 1000;
  const idealSeconds = cold.idealMs / 1000;
  const [layover, peer, direct] = [seconds('layover'), seconds('distribution'), seconds('direct')];
  const vsIdeal = ratio(layover, idealSeconds);
  return [{
    case: `2. Cold pull over ${describeLink(options.link)}, ${cold.layers}-layer ${mib(cold.imageBytes)} image (s)`,
    layover: fixed(layover, 2),
    peer: fixed(peer, 2),
    nginx: '—',
    ratio: `${times(vsIdeal)} ideal (peer ${times(ratio(peer, idealSeconds))}, no cache ${times(ratio(direct, idealSeconds))})`,
    target: `≤ 1.10× ideal (${fixed(idealSeconds, 2)} s)`,
    met: verdict(vsIdeal <= 1.1, vsIdeal),
  }];
}

function concurrentRows(concurrent: ConcurrentResult | undefined): Row[] {
  if (!concurrent) return [];
  const { samples, imageBytes, clients } = concurrent;
  const images = (name: 'layover' | 'distribution') => median((samples[name] ?? []).map((sample) => sample.linkBytes / imageBytes));
  const total = (name: 'layover' | 'distribution') => median((samples[name] ?? []).map((sample) => sample.totalMs)) / 1000;
  const failures = (name: 'layover' | 'distribution') => (samples[name] ?? []).reduce((sum, sample) => sum + sample.failures, 0);
  const failed = (name: 'layover' | 'distribution') => (failures(name) > 0 ? ` (${failures(name)} failed)` : '');
  const layoverImages = images('layover');
  return [
    {
      case: `3. ${clients} concurrent cold clients, ${mib(imageBytes)} image: bytes over the link (× image)`,
      layover: `${fixed(layoverImages, 2)}×${failed('layover')}`,
      peer: `${fixed(images('distribution'), 2)}×${failed('distribution')}`,
      nginx: '—',
      ratio: `${times(ratio(layoverImages, images('distribution')))} peer`,
      target: 'Layover 1.0× the image',
      met: verdict(layoverImages <= SINGLE_FLIGHT_TOLERANCE && failures('layover') === 0, layoverImages),
    },
    {
      case: `3. ${clients} concurrent cold clients: time until the last has the image (s)`,
      layover: fixed(total('layover'), 2),
      peer: fixed(total('distribution'), 2),
      nginx: '—',
      ratio: `${times(ratio(total('layover'), total('distribution')))} peer`,
      target: '— (reported)',
      met: '—',
    },
  ];
}

function memoryRows(results: BenchResults): Row[] {
  const measured = [results.warm, results.cold, results.concurrent].filter((result) => result !== undefined);
  if (measured.length === 0) return [];
  const peak = (name: ServerName) => max(measured.flatMap((result) => (result.peakRssBytes[name] === undefined ? [] : [result.peakRssBytes[name]!]))) / MiB;
  const layover = peak('layover');
  return [{
    case: '4. Peak resident memory during 1–3 (MiB)',
    layover: fixed(layover, 0),
    peer: fixed(peak('distribution'), 0),
    nginx: fixed(peak('nginx'), 0),
    ratio: `${times(ratio(layover, peak('distribution')))} peer`,
    target: 'Layover < 200 MiB',
    met: verdict(layover < 200, layover),
  }];
}

function tagRows(tags: TagsResult | undefined): Row[] {
  if (!tags) return [];
  return (['inside', 'outside'] as const).map((freshness) => {
    const { layover, distribution } = tags.samples[freshness];
    return {
      case: `5. Manifest by tag, ${freshness} the freshness window, p50 / p99 (ms)`,
      layover: `${fixed(percentile(layover, 50), 1)} / ${fixed(percentile(layover, 99), 1)}`,
      peer: `${fixed(percentile(distribution, 50), 1)} / ${fixed(percentile(distribution, 99), 1)}`,
      nginx: '—',
      ratio: `${times(ratio(percentile(layover, 50), percentile(distribution, 50)))} peer (p50)`,
      target: '— (reported)',
      met: '—' as const,
    };
  });
}

function dockerRows(docker: DockerResult | undefined, skipped: string | undefined): Row[] {
  if (!docker) {
    return skipped ? [{ case: '6. docker pull', layover: '—', peer: '—', nginx: '—', ratio: '—', target: `skipped: ${skipped}`, met: '—' }] : [];
  }
  const seconds = (target: 'layover' | 'distribution' | 'direct', key: 'coldMs' | 'warmMs') =>
    median((docker.samples[target] ?? []).flatMap((sample) => (sample[key] === undefined ? [] : [sample[key]!]))) / 1000;
  const cold = { layover: seconds('layover', 'coldMs'), peer: seconds('distribution', 'coldMs'), direct: seconds('direct', 'coldMs') };
  const warm = { layover: seconds('layover', 'warmMs'), peer: seconds('distribution', 'warmMs') };
  return [
    {
      case: `6. docker pull, cold, ${mib(docker.imageBytes)} image (s)`,
      layover: fixed(cold.layover, 2),
      peer: fixed(cold.peer, 2),
      nginx: '—',
      ratio: `${times(ratio(cold.layover, cold.peer))} peer (no cache: ${fixed(cold.direct, 2)} s)`,
      target: '— (reported)',
      met: '—',
    },
    {
      case: '6. docker pull, warm (s)',
      layover: fixed(warm.layover, 2),
      peer: fixed(warm.peer, 2),
      nginx: '—',
      ratio: `${times(ratio(warm.layover, warm.peer))} peer`,
      target: '— (reported)',
      met: '—',
    },
  ];
}

export function renderMarkdown(report: Report, options: BenchOptions): string {
  const { machine } = report;
  const header = ['Case', 'Layover', 'Peer: distribution proxy', 'nginx (static)', 'Ratio', 'Target', 'Met?'];
  const lines = [
    '# Layover benchmark',
    '',
    `Measured ${machine.date.slice(0, 16).replace('T', ' ')} UTC on ${machine.cpuModel}, ${machine.cores} cores, ${(machine.memoryBytes / 1024 ** 3).toFixed(0)} GiB, ` +
      `${machine.os} (${machine.kernel}), Node ${machine.node}; load average ${machine.loadAverage.toFixed(1)} at the start; the run took ${Math.round(report.durationSeconds)} s.`,
    '',
    `Layover ${report.revision}. Setup: ${describeOptions(options)}${options.quick ? ' (**--quick smoke run: sizes too small to mean much**)' : ''}. ` +
      'Medians over rounds; Layover and the peer are measured alternately, in rotating order. ' +
      'Everything runs on loopback: docker-registry as the upstream, the link shaper (src-main/demo/link-shaper.ts) between it and both caches.',
    '',
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...report.table.map((row) => `| ${[row.case, row.layover, row.peer, row.nginx, row.ratio, row.target, row.met].join(' | ')} |`),
    '',
    'Notes:',
    '- Ideal (case 2) = image bytes ÷ link bandwidth + 3 round trips (connect, manifest, blobs in parallel); "no cache" is the same client pulling straight from the upstream over the link.',
    '- Bytes over the link are counted by the shaper until the link goes quiet, so background fetches a cache starts for a pull are included.',
    '- Memory is each server process\'s kernel high-water mark (VmHWM), reset at the start of each case; nginx is master plus workers.',
    '- All ratios compare numbers from this one run; none is a pass/fail test of absolute speed.',
  ];
  const skipped = Object.entries(report.results.skipped);
  if (skipped.length > 0) lines.push(...skipped.map(([name, why]) => `- Skipped ${name}: ${why}.`));
  if (report.results.grown) lines.push('', '## Grown store', '', renderGrown(report.results.grown, report.revision, report.machine.date));
  return `${lines.join('\n')}\n`;
}

/** The cases of the README's main table. */
const MAIN_TABLE_CASES = ['warm', 'cold', 'concurrent', 'tags', 'docker', 'memory'] as const;

const README_BLOCKS = {
  bench: ['<!-- bench:start -->', '<!-- bench:end -->'],
  grown: ['<!-- bench-grown:start -->', '<!-- bench-grown:end -->'],
} as const;

/**
 * Writes the run into README.md between its markers: the main table in the
 * bench block, the grown-store table in its own block. Text outside the
 * markers is left as it is; a block whose markers are missing is not written.
 */
export async function writeReadme(path: string, report: Report, options: BenchOptions): Promise<void> {
  let text = await readFile(path, 'utf8');
  // A block is written only by a run that measured what it shows: a run of a few cases leaves the main table as it was.
  if (MAIN_TABLE_CASES.every((name) => options.cases.has(name))) {
    const main = renderMarkdown({ ...report, results: { ...report.results, grown: undefined } }, options).replace(/^# Layover benchmark\n\n/, '');
    text = replaceBlock(text, README_BLOCKS.bench, main);
  }
  if (report.results.grown) text = replaceBlock(text, README_BLOCKS.grown, `${renderGrown(report.results.grown, report.revision, report.machine.date)}\n`);
  await writeFile(path, text);
}

/** The text with what lies between the two markers replaced by `body` (unchanged when a marker is missing). */
export function replaceBlock(text: string, [start, end]: readonly [string, string], body: string, writer = 'npm run bench'): string {
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from === -1 || to < from) return text;
  return `${text.slice(0, from + start.length)}\n<!-- Written by \`${writer}\`. Do not edit by hand. -->\n${body}${text.slice(to)}`;
}

export async function writeReport(outDir: string, report: Report, options: BenchOptions): Promise<{ json: string; markdown: string }> {
  await mkdir(outDir, { recursive: true });
  const json = join(outDir, 'results.json');
  const markdown = join(outDir, 'results.md');
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(markdown, renderMarkdown(report, options));
  return { json, markdown };
}

function mib(bytes: number): string {
  return `${+(bytes / MiB).toFixed(bytes < MiB ? 2 : 0)} MiB`;
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

function times(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a';
}

function verdict(ok: boolean, ...values: number[]): Row['met'] {
  if (values.some((value) => !Number.isFinite(value))) return '—';
  return ok ? 'yes' : 'no';
}
