/**
 * Issue 13, part 1: two embedded databases measured on a year-old office
 * cache before choosing the store's index. The same logical schema in both:
 * (lmdb packs it as the index does since schema 2, see index-codecs.ts)
 *   blobs     digest -> { size, lastAccess }
 *   lru       (lastAccess, digest), ordered, for oldest-first eviction
 *   tags      (registry, repository, tag) -> { digest, mediaType, checkedAt }
 * Each candidate runs in a child process of its own, so its resident memory
 * is its own.
 *
 *   node --import tsx bench/index-candidates.ts             # 100,000 blobs, 2,000 repos x 50 tags
 *   node --import tsx bench/index-candidates.ts --quick     # 5,000 blobs, 100 repos x 50 tags
 *   node --import tsx bench/index-candidates.ts --readme    # and write the table into README.md (full runs only)
 *
 * lmdb is the project's dependency. node-sqlite3-wasm is not: the bench finds
 * it when installed (`npm install --no-save node-sqlite3-wasm`), or in the
 * package folder that BENCH_SQLITE_WASM names, and says so when it is absent.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { describeMachine, describeRevision } from './machine.js';
import { replaceBlock } from './report.js';

const REPO_ROOT = join(import.meta.dirname, '..');

interface Shape {
  blobs: number;
  repositories: number;
  tagsPerRepository: number;
}

interface BlobRow {
  digest: string;
  size: number;
  lastAccess: number;
}

/** What the bench asks of a candidate: the index's hot operations, nothing more. */
interface Candidate {
  /** Writes everything in one transaction (as the import of a metadata.json would). */
  load(blobs: BlobRow[], tags: Array<[string, string, string, string]>): Promise<void>;
  blob(digest: string): BlobRow | undefined;
  tagDigest(registry: string, repository: string, tag: string): string | undefined;
  /** One transaction: each blob's record and its place in the LRU order move to `at`. */
  touch(digests: string[], at: number): Promise<void>;
  oldest(limit: number): string[];
  close(): Promise<void>;
}

type CandidateName = 'lmdb' | 'node-sqlite3-wasm';
const CANDIDATES: CandidateName[] = ['lmdb', 'node-sqlite3-wasm'];
const LOOKUPS = 20_000;
const TOUCH_BATCH = 1_000;
const SMALL_TOUCH_BATCH = 10;
const TOUCH_ROUNDS = 10;
const EVICTION_SCAN = 1_000;

async function openCandidate(name: CandidateName, dir: string): Promise<Candidate> {
  return name === 'lmdb' ? openLmdb(dir) : openSqliteWasm(dir);
}

/**
 * As the index uses it (index-db.ts, schema 2): records packed by the index's
 * own codecs (binary digests, fixed-width numbers), no read-ahead; each batch
 * is the writes of one event turn (one transaction), flushed off the main thread.
 */
async function openLmdb(dir: string): Promise<Candidate> {
  const { open } = await import('lmdb');
  const { BLOB, DIGEST, LRU_KEY, NOTHING, PackedDatabase, sameKey, TAG } = await import('../src-main/core/store/index-codecs.js');
  const root = open({ path: dir, overlappingSync: false, noReadAhead: true } as Parameters<typeof open>[0] & { noReadAhead: boolean });
  const binary = { keyEncoding: 'binary', encoding: 'binary' } as const;
  const blobs = new PackedDatabase(root.openDB({ name: 'blobs.2', ...binary }), DIGEST, BLOB);
  const lru = new PackedDatabase(root.openDB({ name: 'lru.2', ...binary }), LRU_KEY, NOTHING);
  const tags = new PackedDatabase(root.openDB({ name: 'tags.2', encoding: 'binary' }), sameKey<string>(), TAG);
  const commit = async (writes: Array<Promise<boolean>>): Promise<void> => {
    await Promise.all(new Set(writes));
  };
  return {
    load: (rows, tagRows) => {
      const writes: Array<Promise<boolean>> = [];
      for (const row of rows) writes.push(blobs.put(row.digest, { size: row.size, lastAccess: row.lastAccess }), lru.put([row.lastAccess, row.digest], null));
      for (const [registry, repository, tag, digest] of tagRows) writes.push(tags.put(`${registry}\0${repository}\0${tag}`, { digest, mediaType: '', checkedAt: 0 }));
      return commit(writes);
    },
    blob: (digest) => {
      const value = blobs.get(digest);
      return value && { digest, ...value };
    },
    tagDigest: (registry, repository, tag) => tags.get(`${registry}\0${repository}\0${tag}`)?.digest,
    touch: (digests, at) => {
      const writes: Array<Promise<boolean>> = [];
      for (const digest of digests) {
        const record = blobs.get(digest);
        if (!record) continue;
        writes.push(lru.remove([record.lastAccess, digest]), lru.put([at, digest], null), blobs.put(digest, { size: record.size, lastAccess: at }));
      }
      return commit(writes);
    },
    oldest: (limit) => [...lru.getKeys({ limit })].map((key) => key[1]),
    close: () => root.close(),
  };
}

interface SqliteStatement {
  get(values?: unknown[]): Record<string, unknown> | null;
  run(values?: unknown[]): unknown;
  all(values?: unknown[]): Array<Record<string, unknown>>;
  finalize(): void;
}
interface SqliteDatabase {
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  close(): void;
}

async function importSqliteWasm(): Promise<{ Database: new (path: string) => SqliteDatabase }> {
  const where = process.env.BENCH_SQLITE_WASM;
  const name = 'node-sqlite3-wasm';
  const module = (await import(where ? pathToFileURL(join(where, 'dist', `${name}.js`)).href : name)) as { default: { Database: new (path: string) => SqliteDatabase } };
  return module.default;
}

async function openSqliteWasm(dir: string): Promise<Candidate> {
  const { Database } = await importSqliteWasm();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const db = new Database(join(dir, 'index.sqlite'));
  // Its VFS locks by creating a folder: outside an exclusive lock every read would create and remove one.
  // Exclusive locking also lets WAL work without shared memory, which this VFS lacks.
  db.exec('PRAGMA locking_mode = EXCLUSIVE');
  db.exec('PRAGMA journal_mode = WAL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS blobs (digest TEXT PRIMARY KEY, size INTEGER NOT NULL, last_access INTEGER NOT NULL) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS blobs_lru ON blobs (last_access, digest);
    CREATE TABLE IF NOT EXISTS tags (registry TEXT, repository TEXT, tag TEXT, digest TEXT NOT NULL, PRIMARY KEY (registry, repository, tag)) WITHOUT ROWID;
  `);
  const statements = {
    putBlob: db.prepare('INSERT OR REPLACE INTO blobs VALUES (?, ?, ?)'),
    putTag: db.prepare('INSERT OR REPLACE INTO tags VALUES (?, ?, ?, ?)'),
    blob: db.prepare('SELECT size, last_access FROM blobs WHERE digest = ?'),
    tag: db.prepare('SELECT digest FROM tags WHERE registry = ? AND repository = ? AND tag = ?'),
    touch: db.prepare('UPDATE blobs SET last_access = ? WHERE digest = ?'),
    oldest: db.prepare('SELECT digest FROM blobs ORDER BY last_access, digest LIMIT ?'),
  };
  const inTransaction = (work: () => void): Promise<void> => {
    db.exec('BEGIN');
    try {
      work();
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
    return Promise.resolve();
  };
  return {
    load: (rows, tagRows) => inTransaction(() => {
      for (const row of rows) statements.putBlob.run([row.digest, row.size, row.lastAccess]);
      for (const row of tagRows) statements.putTag.run(row);
    }),
    blob: (digest) => {
      const row = statements.blob.get([digest]);
      return row ? { digest, size: Number(row.size), lastAccess: Number(row.last_access) } : undefined;
    },
    tagDigest: (registry, repository, tag) => statements.tag.get([registry, repository, tag])?.digest as string | undefined,
    touch: (digests, at) => inTransaction(() => {
      for (const digest of digests) statements.touch.run([at, digest]);
    }),
    oldest: (limit) => statements.oldest.all([limit]).map((row) => row.digest as string),
    close: () => {
      for (const statement of Object.values(statements)) statement.finalize();
      db.close();
      return Promise.resolve();
    },
  };
}

// ------------------------------------------------------------------ the case

/** A deterministic office cache: digests, sizes, access times spread over a year, 50 tags per repository. */
function blobAt(i: number): BlobRow {
  return {
    digest: `sha256:${(i.toString(16).padStart(8, '0') + 'a'.repeat(56)).slice(0, 64)}`,
    size: 1024 + ((i * 7919) % (64 * 1024 * 1024)),
    lastAccess: Date.UTC(2025, 0, 1) + ((i * 104_729) % (365 * 86_400)) * 1000,
  };
}

function tagAt(j: number, shape: Shape): [string, string, string, string] {
  const repository = Math.floor(j / shape.tagsPerRepository);
  return ['registry-1.docker.io', `team-${repository % 40}/service-${repository}`, `v1.${j % shape.tagsPerRepository}.0`, blobAt(j % shape.blobs).digest];
}

/** A fixed pseudo-random order, so both candidates answer the same questions. */
function sampleIndices(range: number, count: number): number[] {
  let seed = 12_345;
  return Array.from({ length: count }, () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % range;
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function directoryBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

interface Measurement {
  candidate: CandidateName;
  loadSeconds: number;
  openMs: number;
  digestLookupMicros: number;
  tagLookupMicros: number;
  touchBatch: BatchTiming;
  smallTouchBatch: BatchTiming;
  evictionScanMs: number;
  rssBase: Resident;
  rssAfterOpen: Resident;
  rssAfterRun: Resident;
  diskMiB: number;
}

const mebibytes = (bytes: number): number => bytes / 2 ** 20;

interface Resident {
  /** The process's own memory (heap, malloc, WASM memory). */
  anonMiB: number;
  /** Pages of mapped files (LMDB maps its data file): the kernel's page cache, shared and reclaimable. */
  fileMiB: number;
}

/** Resident memory once garbage is collected (what the index holds, not what the loop left), from the kernel's count. */
function resident(): Resident {
  globalThis.gc?.();
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { anonMiB: kib('RssAnon') / 1024, fileMiB: kib('RssFile') / 1024 };
}

/** First child: writes the whole case in one transaction, as an import would. */
async function load(name: CandidateName, shape: Shape, dir: string): Promise<number> {
  const blobs = Array.from({ length: shape.blobs }, (_, i) => blobAt(i));
  const tags = Array.from({ length: shape.repositories * shape.tagsPerRepository }, (_, j) => tagAt(j, shape));
  const index = await openCandidate(name, dir);
  const started = performance.now();
  await index.load(blobs, tags);
  const seconds = (performance.now() - started) / 1000;
  await index.close();
  return seconds;
}

/** Second child, on the loaded files: opens and answers the questions an office asks all day. */
async function measure(name: CandidateName, shape: Shape, dir: string): Promise<Omit<Measurement, 'loadSeconds'>> {
  const digests = sampleIndices(shape.blobs, LOOKUPS).map((i) => blobAt(i).digest);
  const tagQuestions = sampleIndices(shape.repositories * shape.tagsPerRepository, LOOKUPS).map((j) => tagAt(j, shape));
  const rssBase = resident();

  const openStarted = performance.now();
  const index = await openCandidate(name, dir);
  index.blob(digests[0]!);
  const openMs = performance.now() - openStarted;
  const rssAfterOpen = resident();

  let started = performance.now();
  for (const digest of digests) if (!index.blob(digest)) throw new Error(`${name}: lost ${digest}`);
  const digestLookupMicros = ((performance.now() - started) * 1000) / digests.length;

  started = performance.now();
  for (const [registry, repository, tag] of tagQuestions) if (!index.tagDigest(registry, repository, tag)) throw new Error(`${name}: lost a tag`);
  const tagLookupMicros = ((performance.now() - started) * 1000) / tagQuestions.length;

  const large = await touchRounds(index, digests, TOUCH_BATCH, 0);
  // A light second: a few hits, as most flushes are.
  const small = await touchRounds(index, digests.slice(TOUCH_BATCH * TOUCH_ROUNDS), SMALL_TOUCH_BATCH, TOUCH_ROUNDS);

  started = performance.now();
  const oldest = index.oldest(EVICTION_SCAN);
  const evictionScanMs = performance.now() - started;
  const touched = new Set(digests.slice(0, TOUCH_BATCH * TOUCH_ROUNDS));
  if (oldest.length !== EVICTION_SCAN || oldest.some((digest) => touched.has(digest))) {
    throw new Error(`${name}: the eviction scan did not return the oldest entries`);
  }
  const rssAfterRun = resident();
  await index.close();
  return {
    candidate: name, openMs, digestLookupMicros, tagLookupMicros, touchBatch: large, smallTouchBatch: small,
    evictionScanMs, rssBase, rssAfterOpen, rssAfterRun, diskMiB: mebibytes(directoryBytes(dir)),
  };
}

interface BatchTiming {
  /** Until the batch is durable (median of the rounds). */
  ms: number;
  /** Of which the main thread was busy: what requests would wait for. */
  mainThreadMs: number;
}

/** Access-time batches of `size` blobs, one commit each, spaced as the index spaces its flushes. */
async function touchRounds(index: Candidate, digests: string[], size: number, firstRound: number): Promise<BatchTiming> {
  const durable: number[] = [];
  const mainThread: number[] = [];
  for (let round = 0; round < TOUCH_ROUNDS; round++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const batch = digests.slice(round * size, (round + 1) * size);
    const utilization = performance.eventLoopUtilization();
    const started = performance.now();
    await index.touch(batch, Date.UTC(2026, 0, 1) + firstRound + round);
    durable.push(performance.now() - started);
    mainThread.push(performance.eventLoopUtilization(utilization).active);
  }
  return { ms: median(durable), mainThreadMs: median(mainThread) };
}

type Phase = 'load' | 'measure';

/** Runs one phase in a child of its own; its last output line is the JSON answer. */
function runPhase(phase: Phase, name: CandidateName, dir: string, quick: boolean): unknown {
  const output = execFileSync(process.execPath, ['--import', 'tsx', '--expose-gc', import.meta.filename, `--${phase}`, name, dir, ...(quick ? ['--quick'] : [])], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 20,
  });
  return JSON.parse(output.trim().split('\n').pop()!);
}

function runCandidate(name: CandidateName, quick: boolean): Measurement | string {
  const dir = join(tmpdir(), `layover-index-bench-${name}-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  try {
    const loadSeconds = runPhase('load', name, dir, quick) as number;
    return { ...(runPhase('measure', name, dir, quick) as Omit<Measurement, 'loadSeconds'>), loadSeconds };
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    if (/Cannot find (package|module)/.test(stderr)) return `not installed (npm install --no-save ${name}, or BENCH_SQLITE_WASM=<its package folder>)`;
    return `failed: ${stderr.trim().split('\n').slice(-3).join(' ') || (error as Error).message}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function growth(before: Resident, after: Resident): string {
  return `+${(after.anonMiB - before.anonMiB).toFixed(0)} + ${(after.fileMiB - before.fileMiB).toFixed(0)} MiB`;
}

function table(shape: Shape, results: Array<Measurement | string>): string {
  const rows: Array<[string, (m: Measurement) => string]> = [
    ['open (reopen + first read)', (m) => `${m.openMs.toFixed(1)} ms`],
    ['blob record by digest', (m) => `${m.digestLookupMicros.toFixed(1)} µs`],
    ['tag → digest', (m) => `${m.tagLookupMicros.toFixed(1)} µs`],
    [`access-time batch of ${TOUCH_BATCH} blobs, until durable`, (m) => `${m.touchBatch.ms.toFixed(1)} ms`],
    ['… of which the main thread was busy', (m) => `${m.touchBatch.mainThreadMs.toFixed(1)} ms`],
    [`access-time batch of ${SMALL_TOUCH_BATCH} blobs, until durable`, (m) => `${m.smallTouchBatch.ms.toFixed(1)} ms`],
    ['… of which the main thread was busy', (m) => `${m.smallTouchBatch.mainThreadMs.toFixed(1)} ms`],
    [`eviction scan (oldest ${EVICTION_SCAN}, in order)`, (m) => `${m.evictionScanMs.toFixed(1)} ms`],
    ['resident memory of the process before opening (own + mapped files)', (m) => `${m.rssBase.anonMiB.toFixed(0)} + ${m.rssBase.fileMiB.toFixed(0)} MiB`],
    ['… growth after open', (m) => growth(m.rssBase, m.rssAfterOpen)],
    [`… growth after ${(2 * LOOKUPS).toLocaleString('en')} lookups, ${TOUCH_ROUNDS} batches, the scan`, (m) => growth(m.rssBase, m.rssAfterRun)],
    ['on disk', (m) => `${m.diskMiB.toFixed(1)} MiB`],
    ['bulk load (once, one transaction)', (m) => `${m.loadSeconds.toFixed(2)} s`],
  ];
  const header = `| ${shape.blobs.toLocaleString('en')} blobs, ${shape.repositories.toLocaleString('en')} repos × ${shape.tagsPerRepository} tags | ${CANDIDATES.join(' | ')} |`;
  const lines = [header, `|---|${CANDIDATES.map(() => '---').join('|')}|`];
  for (const [label, cell] of rows) lines.push(`| ${label} | ${results.map((r) => (typeof r === 'string' ? r : cell(r))).join(' | ')} |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const shape: Shape = quick ? { blobs: 5_000, repositories: 100, tagsPerRepository: 50 } : { blobs: 100_000, repositories: 2_000, tagsPerRepository: 50 };
  for (const phase of ['load', 'measure'] as const) {
    const at = args.indexOf(`--${phase}`);
    if (at < 0) continue;
    const [name, dir] = [args[at + 1] as CandidateName, args[at + 2]!];
    console.log(JSON.stringify(phase === 'load' ? await load(name, shape, dir) : await measure(name, shape, dir)));
    return;
  }
  const startLoad = loadavg()[0]!;
  const results = CANDIDATES.map((name) => runCandidate(name, quick));
  const machine = describeMachine();
  const heading = `Measured ${machine.date.slice(0, 16).replace('T', ' ')} UTC by \`bench/index-candidates.ts\` on Layover ${describeRevision(REPO_ROOT)}: ` +
    `${machine.cpuModel}, ${machine.cores} cores, Node ${process.version}, ${process.platform}-${process.arch}; load average ${startLoad.toFixed(1)} at the start (other work shared the machine). Medians; each candidate in a process of its own.`;
  console.log(heading);
  console.log(table(shape, results));
  if (args.includes('--readme')) {
    if (quick) throw new Error('--readme writes the full-size figures only: run without --quick');
    const readme = join(REPO_ROOT, 'README.md');
    writeFileSync(readme, replaceBlock(readFileSync(readme, 'utf8'), ['<!-- index-candidates:start -->', '<!-- index-candidates:end -->'], `${heading}\n\n${table(shape, results)}\n`, 'node --import tsx bench/index-candidates.ts --readme'));
    console.log(`wrote the table into ${readme}`);
  }
}

await main();
