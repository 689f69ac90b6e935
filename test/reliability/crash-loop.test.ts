/**
 * kill -9 in a loop while clients pull and a prefetch job runs. Every kill is
 * timed by a state the test observes (a client has received part of a blob,
 * the prefetch job has moved bytes), never by a clock, so the kills land
 * mid-transfer on any machine. What is proven, and counted:
 * - every client response in flight at a kill is exact bytes or ends in an
 *   error, never a complete-looking short or wrong body;
 * - ingest files a kill left behind are gone after the restart, and every
 *   stored blob hashes to its name;
 * - the prefetch job, killed mid-blob, resumes from the bytes it kept (its
 *   first request after the restart asks for a Range from exactly there).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import type { LayoverApi } from '../../src-main/api/layover-api.js';
import type { JobStatus } from '../../src-main/api/types.js';
import { startFaultUpstream, type FaultUpstream, type RecordedRequest } from '../support/fault-upstream.js';
import { get, sha256, testBytes } from '../support/http.js';
import { startLayoverProcess, type LayoverProcess } from '../support/layover.js';
import { freePort } from '../support/ports.js';
import { makeTempDir, removeTempDir, sleep } from '../support/process.js';
import { checkStore } from '../support/store-check.js';
import { whenAdminReady } from './admin-ready.js';
import { recordResults } from './results.js';

const ITERATIONS = Number(process.env.LAYOVER_CRASH_ITERATIONS ?? 24);
/** Upstream pace for every blob while the loop runs: slow enough that a kill after the first bytes lands mid-blob. */
const TRICKLE = { kind: 'trickle', bytesPerSecond: 1024 * 1024 } as const;
const KiB = 1024;
const PREFETCH_REPOSITORY = 'library/prefetched';
/** How long a state the test waits for may take before the test gives up on it (a failure bound, not a timing). */
const GIVE_UP_MS = 60_000;

interface Blob {
  digest: string;
  size: number;
}

/** An image for prefetch to work on: its job is persisted, resumed at every restart, and killed again. */
function addPrefetchImage(upstream: FaultUpstream): Blob[] {
  const layers = [801, 802, 803].map((seed) => testBytes(2 * 1024 * KiB, seed));
  const layerDigests = layers.map((bytes) => upstream.addBlob(bytes));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layerDigests } }));
  const configDigest = upstream.addBlob(config);
  upstream.addManifest(PREFETCH_REPOSITORY, 'v1', {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: layers.map((bytes, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigests[i], size: bytes.length })),
  });
  for (const digest of layerDigests) upstream.setFault(digest, TRICKLE);
  return layers.map((bytes, i) => ({ digest: layerDigests[i]!, size: bytes.length }));
}

/** Two blobs no one has asked for yet, so this iteration's pulls are cache misses that stream from a live ingest. */
function addFreshBlobs(upstream: FaultUpstream, iteration: number): Blob[] {
  return [0, 1].map((k) => {
    const bytes = testBytes(1024 * KiB + k * 512 * KiB, 10_000 + iteration * 2 + k);
    const digest = upstream.addBlob(bytes);
    upstream.setFault(digest, TRICKLE);
    return { digest, size: bytes.length };
  });
}

/** Blobs fetched whole before the first kill: every iteration pulls one from the cache beside the misses. */
function addWarmBlobs(upstream: FaultUpstream): Blob[] {
  return [901, 902].map((seed) => {
    const bytes = testBytes(4 * 1024 * KiB, seed);
    return { digest: upstream.addBlob(bytes), size: bytes.length };
  });
}

// ---- client pulls, watched byte by byte ----

interface TrackedPull extends Blob {
  status?: number;
  contentLength?: number;
  received: number;
  receivedDigest?: string;
  error?: Error;
  done: Promise<void>;
}

type PullOutcome = 'exact' | 'cut mid-body' | 'error before the body' | 'HTTP error' | 'WRONG';

/** GETs a blob, counting bytes as they arrive and hashing them; `progress` fires on every chunk and at the end. */
function startPull(baseUrl: string, blob: Blob, progress: EventEmitter): TrackedPull {
  const pull = { ...blob, received: 0 } as TrackedPull;
  pull.done = (async () => {
    const hash = createHash('sha256');
    try {
      const response = await request(`${baseUrl}/v2/library/app/blobs/${blob.digest}`);
      pull.status = response.statusCode;
      const length = response.headers['content-length'];
      if (length !== undefined) pull.contentLength = Number(length);
      for await (const chunk of response.body) {
        hash.update(chunk as Buffer);
        pull.received += (chunk as Buffer).length;
        progress.emit('progress');
      }
      pull.receivedDigest = `sha256:${hash.digest('hex')}`;
    } catch (error) {
      pull.error = error as Error;
    }
    progress.emit('progress');
  })();
  return pull;
}

/** What the client was left with. A body that ended without an error must be the exact blob, by length and by digest. */
function outcomeOf(pull: TrackedPull): PullOutcome {
  if (pull.error) {
    if (pull.status === undefined || pull.received === 0) return 'error before the body';
    return 'cut mid-body';
  }
  if (pull.status !== undefined && pull.status >= 400) return 'HTTP error';
  const whole = pull.status === 200 && pull.received === pull.size && (pull.contentLength ?? pull.size) === pull.size;
  return whole && pull.receivedDigest === pull.digest ? 'exact' : 'WRONG';
}

function describe(pull: TrackedPull): string {
  return `${pull.digest.slice(7, 19)}: HTTP ${pull.status}, Content-Length ${pull.contentLength}, ${pull.received} of ${pull.size} bytes, ` +
    `digest ${pull.receivedDigest === pull.digest ? 'right' : pull.receivedDigest?.slice(7, 19)}, error ${pull.error?.message}`;
}

/** Resolves once `reached` holds, checked at every byte that arrives. */
function whenProgress(progress: EventEmitter, reached: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (!reached()) return;
      progress.off('progress', check);
      resolve();
    };
    progress.on('progress', check);
    check();
  });
}

// ---- the prefetch job, through the control API ----

async function prefetchJob(api: LayoverApi): Promise<JobStatus | undefined> {
  return (await api.listJobs()).find((job) => job.repository === PREFETCH_REPOSITORY);
}

/** Waits until the job has kept `step` more bytes in this run (or is done). Polls the job state the API exposes. */
async function whenPrefetchAdvanced(api: LayoverApi, step: number): Promise<JobStatus> {
  let firstSeen: number | undefined;
  for (const started = Date.now(); ; await sleep(20)) {
    const job = await prefetchJob(api);
    assert.ok(job, 'the prefetch job is resumed from the data dir at every start');
    assert.ok(job.state !== 'failed' && job.state !== 'cancelled', `the prefetch job survives the kills: ${JSON.stringify(job)}`);
    if (job.state === 'done') return job;
    if (job.state === 'running') {
      firstSeen ??= job.bytesDone;
      if (job.bytesDone >= firstSeen + step) return job;
    }
    assert.ok(Date.now() - started < GIVE_UP_MS, `the prefetch job moves bytes: ${JSON.stringify(job)}`);
  }
}

// ---- what a kill leaves on disk ----

async function ingestFiles(dataDir: string): Promise<string[]> {
  return readdir(join(dataDir, 'ingest')).catch(() => []);
}

/** Bytes prefetch kept per layer in its partial files (the resumable part of a job). */
async function partialSizes(dataDir: string, layers: Blob[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const layer of layers) {
    const path = join(dataDir, 'prefetch', 'partial', layer.digest.replace(':', '-'));
    sizes.set(layer.digest, (await stat(path).catch(() => undefined))?.size ?? 0);
  }
  return sizes;
}

/**
 * The first upstream GET of each layer in one run of Layover must ask for the
 * bytes after those kept before that run: `Range: bytes=N-` for a partial of N
 * bytes, no Range when nothing was kept. Returns the N of each layer resumed from N > 0.
 */
function checkResumes(run: RecordedRequest[], keptBefore: Map<string, number>, layers: Blob[], label: string): number[] {
  const resumedFrom: number[] = [];
  for (const layer of layers) {
    const first = run.find((r) => r.method === 'GET' && r.path.endsWith(layer.digest));
    const kept = keptBefore.get(layer.digest) ?? 0;
    if (!first || kept >= layer.size) continue; // not asked for in this run, or complete and only waiting to be committed
    assert.equal(first.range, kept > 0 ? `bytes=${kept}-` : undefined, `${label}: layer ${layer.digest.slice(7, 19)} had ${kept} bytes kept; its first request after the restart asks for the rest`);
    if (kept === 0) continue;
    assert.ok(first.bytesSent <= layer.size - kept, `${label}: the upstream sent only the rest of the layer, ${first.bytesSent} of ${layer.size - kept} bytes`);
    resumedFrom.push(kept);
  }
  return resumedFrom;
}

// ---- the loop ----

interface Counts {
  pulls: Record<PullOutcome, number>;
  killsMidTransfer: number;
  ingestLeftoversRemoved: number;
  killsMidPrefetchBlob: number;
  prefetchResumedFromPartial: number;
  prefetchBytesKeptAcrossKills: number;
  storeChecks: number;
  corruptBlobs: number;
}

interface LoopState {
  dataDir: string;
  upstream: FaultUpstream;
  ports: { port: number; adminPort: number };
  layers: Blob[];
  warm: Blob[];
  pulled: Blob[];
  counts: Counts;
  /** What the previous kill left: ingest file names, prefetch partial sizes, and where the upstream's request log stood. */
  left: { ingest: string[]; partials: Map<string, number>; requestMark: number };
}

/** Starts Layover on the data dir the last kill left, and checks the store the way the restart must leave it. */
async function restart(state: LoopState, label: string): Promise<{ layover: LayoverProcess; api: LayoverApi }> {
  const layover = await startLayoverProcess({ dataDir: state.dataDir, upstream: state.upstream.url, ...state.ports });
  try {
    // Prefetch resumes as the process starts and may already be writing new ingest files: only those from before the restart count.
    const check = await checkStore(state.dataDir);
    state.counts.storeChecks += 1;
    state.counts.corruptBlobs += check.corrupt.length;
    assert.deepEqual(check.corrupt, [], `${label}: no corrupt blob`);
    assert.deepEqual(check.ingestLeftovers.filter((name) => state.left.ingest.includes(name)), [], `${label}: the ingest files the kill left are removed at restart`);
    return { layover, api: await whenAdminReady(layover) };
  } catch (error) {
    await layover.process.stop();
    throw error;
  }
}

async function killAndInspect(state: LoopState, layover: LayoverProcess, label: string): Promise<void> {
  layover.process.signal('SIGKILL');
  await layover.process.exited;
  const run = state.upstream.requests.slice(state.left.requestMark);
  countResumes(state, checkResumes(run, state.left.partials, state.layers, label));
  const ingest = await ingestFiles(state.dataDir);
  const partials = await partialSizes(state.dataDir, state.layers);
  state.counts.ingestLeftoversRemoved += ingest.length;
  if (state.layers.some((layer) => isMidBlob(partials.get(layer.digest)!, layer.size))) state.counts.killsMidPrefetchBlob += 1;
  state.left = { ingest, partials, requestMark: state.upstream.requests.length };
}

function countResumes(state: LoopState, resumedFrom: number[]): void {
  state.counts.prefetchResumedFromPartial += resumedFrom.length;
  state.counts.prefetchBytesKeptAcrossKills += sum(resumedFrom);
}

function isMidBlob(kept: number, size: number): boolean {
  return kept > 0 && kept < size;
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** One iteration: start, let prefetch move, start pulls, kill once a client is mid-blob (or prefetch alone is). */
async function iterate(state: LoopState, iteration: number): Promise<void> {
  const label = `iteration ${iteration}`;
  const fresh = addFreshBlobs(state.upstream, iteration);
  const { layover, api } = await restart(state, label);
  try {
    await killMidWork(state, iteration, layover, api, fresh);
  } finally {
    if (layover.process.isRunning()) await layover.process.stop();
  }
  state.pulled.push(...fresh);
}

async function killMidWork(state: LoopState, iteration: number, layover: LayoverProcess, api: LayoverApi, fresh: Blob[]): Promise<void> {
  const label = `iteration ${iteration}`;
  if (iteration === 0) {
    for (const blob of state.warm) assert.equal(sha256((await get(`${layover.url}/v2/library/app/blobs/${blob.digest}`)).body), blob.digest);
    await api.prefetch({ repository: PREFETCH_REPOSITORY, tags: { kind: 'exact', tags: ['v1'] } });
  }
  const job = await whenPrefetchAdvanced(api, 48 * KiB + ((iteration * 89 * KiB) % (400 * KiB)));
  // Every fourth kill lands on prefetch alone, mid-download; the others while clients pull (prefetch has yielded to them).
  const prefetchOnly = iteration % 4 === 3 && job.state !== 'done';
  const pulls: TrackedPull[] = [];
  if (!prefetchOnly) {
    const progress = new EventEmitter();
    const misses = fresh.map((blob) => startPull(layover.url, blob, progress));
    // Beside them, the last iteration's blobs (their interrupted ingest starts over) and one from the cache.
    const others = [...state.pulled.slice(-2), state.warm[iteration % state.warm.length]!];
    pulls.push(...misses, ...others.map((blob) => startPull(layover.url, blob, progress)));
    const threshold = 1 + ((iteration * 61 * KiB) % (700 * KiB));
    await whenProgress(progress, () => misses.some((p) => p.received >= threshold) || misses.every((p) => p.receivedDigest || p.error));
  }
  await killAndInspect(state, layover, label);
  await Promise.all(pulls.map((pull) => pull.done));
  const outcomes = pulls.map(outcomeOf);
  outcomes.forEach((outcome) => (state.counts.pulls[outcome] += 1));
  assert.ok(!outcomes.includes('WRONG'), `${label}: a response in flight at the kill ended looking complete but was not the blob:\n${pulls.map(describe).join('\n')}`);
  if (outcomes.includes('cut mid-body')) state.counts.killsMidTransfer += 1;
}

/** After the loop: faults healed, the job finishes, and every blob comes out exact. */
async function finish(state: LoopState): Promise<number> {
  state.upstream.clearFaults();
  const { layover, api } = await restart(state, 'after the loop');
  try {
    for (const started = Date.now(); (await prefetchJob(api))?.state !== 'done'; await sleep(200)) {
      assert.ok(Date.now() - started < GIVE_UP_MS, `the prefetch job finishes after the crashes: ${JSON.stringify(await prefetchJob(api))}`);
    }
    countResumes(state, checkResumes(state.upstream.requests.slice(state.left.requestMark), state.left.partials, state.layers, 'after the loop'));
    for (const [index, blob] of [...state.warm, ...state.pulled, ...state.layers].entries()) {
      const response = await get(`${layover.url}/v2/library/app/blobs/${blob.digest}`);
      assert.equal(sha256(response.body), blob.digest, `blob ${index} exact after the crashes`);
    }
    const check = await checkStore(state.dataDir);
    assert.deepEqual(check.corrupt, []);
    return check.blobs;
  } finally {
    await layover.process.stop();
  }
}

function newCounts(): Counts {
  return {
    pulls: { exact: 0, 'cut mid-body': 0, 'error before the body': 0, 'HTTP error': 0, WRONG: 0 },
    killsMidTransfer: 0, ingestLeftoversRemoved: 0, killsMidPrefetchBlob: 0, prefetchResumedFromPartial: 0, prefetchBytesKeptAcrossKills: 0,
    storeChecks: 0, corruptBlobs: 0,
  };
}

test(`kill -9 during pulls and a prefetch job, ${ITERATIONS} times: exact bytes or an error, a clean store, prefetch resumed`, async () => {
  const work = await makeTempDir('crash-loop');
  const upstream = await startFaultUpstream();
  const state: LoopState = {
    dataDir: join(work, 'data'),
    upstream,
    ports: { port: await freePort(), adminPort: await freePort() },
    layers: addPrefetchImage(upstream),
    warm: addWarmBlobs(upstream),
    pulled: [],
    counts: newCounts(),
    left: { ingest: [], partials: new Map(), requestMark: 0 },
  };
  const { counts } = state;
  let iterations = 0;
  let blobsVerified = 0;
  const figures = () => ({
    iterations, pullsInFlight: sum(Object.values(counts.pulls)), pullOutcomes: counts.pulls, killsMidTransfer: counts.killsMidTransfer,
    ingestLeftoversRemoved: counts.ingestLeftoversRemoved, killsMidPrefetchBlob: counts.killsMidPrefetchBlob,
    prefetchResumedFromPartial: counts.prefetchResumedFromPartial, prefetchBytesKeptAcrossKills: counts.prefetchBytesKeptAcrossKills,
    storeChecks: counts.storeChecks, corruptBlobs: counts.corruptBlobs, blobsVerified,
  });
  try {
    await recordResults('crashLoop', figures, async () => {
      for (; iterations < ITERATIONS; iterations++) await iterate(state, iterations);
      blobsVerified = await finish(state);
      console.log(`crash loop: ${JSON.stringify(figures())}`);
      assert.equal(counts.pulls.WRONG, 0);
      assert.ok(counts.killsMidTransfer >= ITERATIONS / 2, `at least half the kills land while a client is mid-blob: ${counts.killsMidTransfer} of ${ITERATIONS}`);
      assert.ok(counts.ingestLeftoversRemoved > 0, 'the kills left ingest files for the restart to remove (else the leftover check proved nothing)');
      assert.ok(counts.killsMidPrefetchBlob >= 1, 'a kill landed while the prefetch job was mid-blob');
      assert.ok(counts.prefetchResumedFromPartial >= 1, 'the prefetch job resumed a layer from its partial bytes at least once');
    });
  } finally {
    await upstream.stop();
    await removeTempDir(work);
  }
});
