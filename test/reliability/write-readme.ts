/**
 * Rewrites the README's Reliability table (between its markers) from
 * test/reliability/results.json, the file the reliability tests write as they
 * run: every figure in that table comes from a run, with the commit it
 * measured. `npm run reliability:readme`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readResults, type Figures, type Results, type SectionResult } from './results.js';

const README = join(import.meta.dirname, '..', '..', 'README.md');
const START = '<!-- reliability:start -->';
const END = '<!-- reliability:end -->';

interface Row {
  what: string;
  how: string;
  sections: string[];
  figures: (f: Record<string, Figures>) => string;
}

const MiB = 1024 * 1024;

const ROWS: Row[] = [
  {
    what: 'upstream faults',
    how: 'a real loopback server answering 500 and trickling; a host that does not resolve; an untrusted TLS certificate; the regional cache failing over to the origin and back (`upstream-faults.test.ts`). Cuts mid-blob, flipped bytes, 429 with Retry-After, redirects and silence are tested in `test/mirror/faults.test.ts` and not counted here',
    sections: ['upstreamFaults'],
    figures: ({ upstreamFaults: f }) =>
      `${f!.faultKindCount} fault kinds (${f!.faultKinds}); ${f!.clientRequests} client requests: ${f!.cleanErrors} clean errors, ${f!.exactBodies} exact bodies, nothing bad stored`,
  },
  {
    what: 'crash',
    how: '`kill -9` of a real `layover serve` in a loop, each kill timed by what the test sees (a client part-way through a blob, the prefetch job moving bytes), while clients pull fresh and cached blobs and a prefetch job runs; after each restart a store check (every blob hashes to its name, the ingest files the kill left are gone), and the prefetch job\'s first request per layer asks for a Range from the bytes it kept',
    sections: ['crashLoop'],
    figures: ({ crashLoop: f }) => {
      const pulls = f!.pullOutcomes as Record<string, number>;
      return `${f!.iterations} kills; ${f!.pullsInFlight} client responses in flight: ${pulls.exact} exact, ${pulls['cut mid-body']} cut mid-body with an error, ` +
        `${pulls['error before the body']} refused before the body, ${pulls['HTTP error']} HTTP errors, **${pulls.WRONG} short or wrong**; ` +
        `${f!.killsMidTransfer} of ${f!.iterations} kills landed mid-transfer; ${f!.ingestLeftoversRemoved} ingest leftovers removed at restart; ` +
        `prefetch killed mid-blob ${f!.killsMidPrefetchBlob} times and resumed from its partial bytes ${f!.prefetchResumedFromPartial} times ` +
        `(${mib(f!.prefetchBytesKeptAcrossKills as number)} MiB not fetched again); ${f!.storeChecks} store checks, ${f!.corruptBlobs} corrupt blobs; ${f!.blobsVerified} blobs exact at the end`;
    },
  },
  {
    what: 'disk full',
    how: 'the data directory on a small tmpfs, a blob larger than it',
    sections: ['diskFull'],
    figures: ({ diskFull: f }) =>
      `${f!.filesystemMiB} MiB tmpfs, ${f!.blobMiB} MiB blob: the client got ${mib(f!.clientBytesBeforeError as number)} MiB, then ${f!.clientSawError ? 'an error' : 'NO error'}; ` +
      `${f!.partialFilesLeft} partial files left; the reason reported in words: ${yes(f!.reasonReported)}; cached content still served: ${yes(f!.cachedStillServed)}`,
  },
  {
    what: 'bad input',
    how: 'fast-check fuzzing of the `/v2` front (names, references, digest-shaped strings with known and unknown algorithms, wrong lengths, upper case, `..`, `/`, `%2f`, NUL, non-ASCII; Range, Accept, methods, queries) and of the store\'s path building from the same digests',
    sections: ['fuzzHttp', 'fuzzStore'],
    figures: ({ fuzzHttp: h, fuzzStore: s }) =>
      `${h!.requests} requests, ${h!.pastGrammar} of them past the grammar to the lookup: ${h!.serverErrors} 5xx, always the OCI error JSON, ${h!.filesOutsideDataDir} files created outside the data dir (whole tree walked); ` +
      `${s!.runs} digest-shaped strings, ${s!.reachedAssertion} of them past the grammar to the path assertion, ${s!.refused} refused: no path outside the blobs folder`,
  },
  {
    what: 'load',
    how: 'concurrent clients against a real `layover serve` with the office limits as shipped (manifests, blobs, ranges, HEADs, tag lists)',
    sections: ['soak'],
    figures: ({ soak: f }) => {
      const limits = f!.limits as Record<string, number>;
      const descriptors = f!.descriptors as Record<string, number>;
      const memory = f!.memoryMiB as Record<string, number>;
      return `${f!.clients} clients for ${f!.seconds} s, limits ${limits.perClientRequestsPerSecond} requests/s and ${limits.perClientConcurrency} in flight per client: ` +
        `${thousands(f!.requests as number)} requests, ${(Number(f!.bytes) / 1024 / MiB).toFixed(1)} GiB served, ${f!.throttled} answered 429, ${f!.errors} errors; ` +
        `open descriptors ${descriptors.beforeLoad} before the load, ${descriptors.peakUnderLoad} at its peak, ${descriptors.afterLoad} after; ` +
        `resident memory (lowest of each third of ${memory.samples} one-second samples after warm-up) ${memory.warm} MiB in the first third, ${memory.end} MiB in the last (peak ${memory.peak} MiB)`;
    },
  },
];

function mib(bytes: number): string {
  return (bytes / MiB).toFixed(1);
}

function yes(value: unknown): string {
  return value ? 'yes' : 'NO';
}

function thousands(value: number): string {
  return value.toLocaleString('en-US');
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function measuredOn(results: SectionResult[]): string {
  return [...new Set(results.map((r) => `${r.commit}${r.uncommittedFiles ? ` + ${r.uncommittedFiles} uncommitted product files` : ''}, ${r.measuredAt.slice(0, 10)}`))].join('; ');
}

function figuresCell(row: Row, results: Results): string {
  const found = row.sections.map((name) => results[name]);
  if (found.some((r) => r === undefined)) return 'not measured yet';
  const failed = found.filter((r) => !r!.passed);
  const figures = row.figures(Object.fromEntries(row.sections.map((name) => [name, results[name]!.figures])));
  return failed.length ? `**FAILED**: ${failed.map((r) => r!.failure).join('; ')}. Counted before it failed: ${figures}` : figures;
}

export function renderReliability(results: Results): string {
  const lines = [
    '| what | how | figures (last run) | measured on |',
    '|---|---|---|---|',
    ...ROWS.map((row) => {
      const measured = row.sections.map((name) => results[name]).filter((r): r is SectionResult => r !== undefined);
      return `| ${row.what} | ${cell(row.how)} | ${cell(figuresCell(row, results))} | ${measured.length ? measuredOn(measured) : '—'} |`;
    }),
  ];
  return `${START}\n<!-- Written by \`npm run reliability:readme\` from test/reliability/results.json, which the reliability tests write as they run. Do not edit by hand. -->\n${lines.join('\n')}\n${END}`;
}

async function main(): Promise<void> {
  const readme = await readFile(README, 'utf8');
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${START} … ${END} block to rewrite`);
  const block = renderReliability(await readResults());
  await writeFile(README, readme.slice(0, start) + block + readme.slice(end + END.length));
  console.log(`README.md: Reliability table rewritten from test/reliability/results.json`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
