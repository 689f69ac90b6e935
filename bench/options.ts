/**
 * What one bench run measures, from flags and environment variables. The
 * defaults are issue 6's sizes; `--quick` shrinks everything for a smoke run
 * (the shape of the results is the same, the numbers mean little).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describeLink, parseLink, type Link } from '../src-main/demo/link-shaper.js';

export const CASES = ['warm', 'cold', 'concurrent', 'tags', 'docker', 'memory', 'grown', 'mesh', 'bundles'] as const;
export type CaseName = (typeof CASES)[number];

export interface BenchOptions {
  quick: boolean;
  /** The cached blob served warm (case 1). */
  blobBytes: number;
  /** Client counts for warm serving (case 1). */
  warmClients: number[];
  /** Rounds per server for warm serving: cheap, so more of them. */
  warmRounds: number;
  /** The office link for the cold cases. */
  link: Link;
  /** Size of the multi-layer image pulled cold over the link (cases 2 and 6). */
  imageBytes: number;
  /** Clients pulling the same uncached image at once (case 3). */
  concurrentClients: number;
  /** Size of that image: distribution refetches it per client over the slow link, so it is smaller. */
  concurrentImageBytes: number;
  /** Rounds per server for the cold cases; each round pulls a new image, so every cache is cold. */
  rounds: number;
  /** Manifest-by-tag requests per server and freshness state (case 5). */
  tagRequests: number;
  /** Run case 6 (docker pull) if dockerd is installed and we are root; 'on' fails without it. */
  docker: 'auto' | 'on' | 'off';
  cases: Set<CaseName>;
  /** Case 7: the blob 16 clients fetch cold, then warm, for each server's peak memory. */
  memoryBlobBytes: number;
  memoryClients: number;
  /** Case 8, the grown store: repositories × tags (50 blobs per repository). */
  grownRepositories: number;
  grownTags: number;
  /** Rounds of warm requests per store, each this long, with this many keep-alive clients. */
  grownRounds: number;
  grownSeconds: number;
  grownClients: number;
  /** How long each Layover is watched idle, for its CPU time. */
  idleSeconds: number;
  /** Write the results into README.md between its bench markers (full runs only). */
  readme: boolean;
  /** Where results.json and results.md go. */
  outDir: string;
  /** Run Layover under --cpu-prof; the profiles land here. */
  cpuProfileDir?: string;
  /** Skip `tsc` when dist/ is known to be current. */
  build: boolean;
}

const MiB = 1024 * 1024;
const REPO_ROOT = join(import.meta.dirname, '..');

const FULL = {
  blobMiB: 256,
  warmClients: [1, 8],
  warmRounds: 7,
  link: '100mbit,50ms',
  imageMiB: 48,
  concurrentClients: 16,
  concurrentImageMiB: 16,
  rounds: 3,
  tagRequests: 100,
  memoryBlobMiB: 128,
  memoryClients: 16,
  grownRepositories: 2000,
  grownTags: 50,
  grownRounds: 3,
  grownSeconds: 10,
  grownClients: 4,
  idleSeconds: 10,
};

const QUICK: typeof FULL = {
  blobMiB: 8,
  warmClients: [1, 4],
  warmRounds: 2,
  link: '200mbit,10ms',
  imageMiB: 3,
  concurrentClients: 4,
  concurrentImageMiB: 2,
  rounds: 2,
  tagRequests: 10,
  memoryBlobMiB: 8,
  memoryClients: 4,
  grownRepositories: 40,
  grownTags: 10,
  grownRounds: 1,
  grownSeconds: 2,
  grownClients: 4,
  idleSeconds: 2,
};

export const USAGE = `node --import tsx bench/run.ts [options]

  --quick                    tiny sizes for a smoke run
  --blob-mib N               warm blob size (default ${FULL.blobMiB}; env BENCH_BLOB_MIB)
  --warm-clients A,B         warm client counts (default ${FULL.warmClients.join(',')}; env BENCH_WARM_CLIENTS)
  --warm-rounds N            (default ${FULL.warmRounds}; env BENCH_WARM_ROUNDS)
  --link SPEC                office link: profile or "100mbit,50ms" (default ${FULL.link}; env BENCH_LINK)
  --image-mib N              cold multi-layer image (default ${FULL.imageMiB}; env BENCH_IMAGE_MIB)
  --clients N                concurrent cold clients (default ${FULL.concurrentClients}; env BENCH_CLIENTS)
  --concurrent-image-mib N   image for the concurrent case (default ${FULL.concurrentImageMiB}; env BENCH_CONCURRENT_IMAGE_MIB)
  --rounds N                 rounds of the cold cases (default ${FULL.rounds}; env BENCH_ROUNDS)
  --tag-requests N           manifest-by-tag requests per server and state (default ${FULL.tagRequests}; env BENCH_TAG_REQUESTS)
  --memory-blob-mib N        blob fetched cold then warm by many clients for peak memory (default ${FULL.memoryBlobMiB}; env BENCH_MEMORY_BLOB_MIB)
  --memory-clients N         clients of that case (default ${FULL.memoryClients}; env BENCH_MEMORY_CLIENTS)
  --grown-repositories N     grown store: repositories, 50 blobs each (default ${FULL.grownRepositories}; env BENCH_GROWN_REPOSITORIES)
  --grown-tags N             grown store: tags per repository (default ${FULL.grownTags}; env BENCH_GROWN_TAGS)
  --grown-rounds N           grown store: rounds of warm requests per store (default ${FULL.grownRounds}; env BENCH_GROWN_ROUNDS)
  --grown-seconds N          grown store: seconds per round (default ${FULL.grownSeconds}; env BENCH_GROWN_SECONDS)
  --idle-seconds N           grown store: seconds each Layover is watched idle (default ${FULL.idleSeconds}; env BENCH_IDLE_SECONDS)
  --no-readme                do not write README.md's bench blocks (a --quick run never does)
  --docker auto|on|off       case 6 (default auto: when dockerd is installed and we are root; env BENCH_DOCKER)
  --cases a,b                subset of ${CASES.join(',')} (env BENCH_CASES)
  --out DIR                  results directory (default bench/results; env BENCH_OUT)
  --cpu-prof DIR             run Layover under node --cpu-prof, profiles into DIR
  --no-build                 do not run tsc first (dist/ must be current)
`;

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      quick: { type: 'boolean' },
      'blob-mib': { type: 'string' },
      'warm-clients': { type: 'string' },
      'warm-rounds': { type: 'string' },
      link: { type: 'string' },
      'image-mib': { type: 'string' },
      clients: { type: 'string' },
      'concurrent-image-mib': { type: 'string' },
      rounds: { type: 'string' },
      'tag-requests': { type: 'string' },
      docker: { type: 'string' },
      cases: { type: 'string' },
      out: { type: 'string' },
      'cpu-prof': { type: 'string' },
      'no-build': { type: 'boolean' },
      'no-readme': { type: 'boolean' },
      'memory-blob-mib': { type: 'string' },
      'memory-clients': { type: 'string' },
      'grown-repositories': { type: 'string' },
      'grown-tags': { type: 'string' },
      'grown-rounds': { type: 'string' },
      'grown-seconds': { type: 'string' },
      'idle-seconds': { type: 'string' },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick ?? env.BENCH_QUICK === '1';
  const base = quick ? QUICK : FULL;
  const pick = (flag: string | undefined, name: string): string | undefined => flag ?? env[name];
  const number = (flag: string | undefined, name: string, fallback: number) => positive(pick(flag, name), fallback, name);
  return {
    quick,
    blobBytes: Math.round(number(values['blob-mib'], 'BENCH_BLOB_MIB', base.blobMiB) * MiB),
    warmClients: list(pick(values['warm-clients'], 'BENCH_WARM_CLIENTS'), base.warmClients),
    warmRounds: number(values['warm-rounds'], 'BENCH_WARM_ROUNDS', base.warmRounds),
    link: parseLink(pick(values.link, 'BENCH_LINK') ?? base.link),
    imageBytes: Math.round(number(values['image-mib'], 'BENCH_IMAGE_MIB', base.imageMiB) * MiB),
    concurrentClients: number(values.clients, 'BENCH_CLIENTS', base.concurrentClients),
    concurrentImageBytes: Math.round(number(values['concurrent-image-mib'], 'BENCH_CONCURRENT_IMAGE_MIB', base.concurrentImageMiB) * MiB),
    rounds: number(values.rounds, 'BENCH_ROUNDS', base.rounds),
    tagRequests: number(values['tag-requests'], 'BENCH_TAG_REQUESTS', base.tagRequests),
    docker: dockerMode(pick(values.docker, 'BENCH_DOCKER')),
    cases: caseSet(pick(values.cases, 'BENCH_CASES')),
    outDir: pick(values.out, 'BENCH_OUT') ?? join(REPO_ROOT, 'bench', 'results'),
    ...(values['cpu-prof'] ? { cpuProfileDir: values['cpu-prof'] } : {}),
    build: !values['no-build'],
    memoryBlobBytes: Math.round(number(values['memory-blob-mib'], 'BENCH_MEMORY_BLOB_MIB', base.memoryBlobMiB) * MiB),
    memoryClients: Math.round(number(values['memory-clients'], 'BENCH_MEMORY_CLIENTS', base.memoryClients)),
    grownRepositories: Math.round(number(values['grown-repositories'], 'BENCH_GROWN_REPOSITORIES', base.grownRepositories)),
    grownTags: Math.round(number(values['grown-tags'], 'BENCH_GROWN_TAGS', base.grownTags)),
    grownRounds: Math.round(number(values['grown-rounds'], 'BENCH_GROWN_ROUNDS', base.grownRounds)),
    grownSeconds: number(values['grown-seconds'], 'BENCH_GROWN_SECONDS', base.grownSeconds),
    grownClients: base.grownClients,
    idleSeconds: number(values['idle-seconds'], 'BENCH_IDLE_SECONDS', base.idleSeconds),
    readme: !quick && !values['no-readme'],
  };
}

/** One line for logs and the report. */
export function describeOptions(options: BenchOptions): string {
  const mib = (bytes: number) => `${+(bytes / MiB).toFixed(2)} MiB`;
  return [
    `blob ${mib(options.blobBytes)} × clients ${options.warmClients.join('/')}`,
    `link ${describeLink(options.link)}`,
    `image ${mib(options.imageBytes)}`,
    `${options.concurrentClients} concurrent clients on ${mib(options.concurrentImageBytes)}`,
    `${options.rounds} cold rounds, ${options.warmRounds} warm rounds`,
    `${options.memoryClients} clients cold then warm on ${mib(options.memoryBlobBytes)}`,
    `grown store ${options.grownRepositories} repositories × ${options.grownTags} tags, ${options.grownClients} clients, ${options.grownRounds} × ${options.grownSeconds} s`,
  ].join('; ');
}

function positive(text: string | undefined, fallback: number, name: string): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}: expected a positive number, got "${text}"`);
  return value;
}

function list(text: string | undefined, fallback: number[]): number[] {
  if (text === undefined) return fallback;
  return text.split(',').map((part) => positive(part.trim(), 1, 'client count')).map(Math.round);
}

function dockerMode(text: string | undefined): BenchOptions['docker'] {
  if (text === undefined) return 'auto';
  if (text === 'auto' || text === 'on' || text === 'off') return text;
  throw new Error(`--docker expects auto, on or off, got "${text}"`);
}

function caseSet(text: string | undefined): Set<CaseName> {
  if (text === undefined) return new Set(CASES);
  const names = text.split(',').map((name) => name.trim()).filter(Boolean);
  for (const name of names) {
    if (!(CASES as readonly string[]).includes(name)) throw new Error(`unknown case "${name}": choose from ${CASES.join(', ')}`);
  }
  return new Set(names as CaseName[]);
}
