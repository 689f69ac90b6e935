import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errorForUpstreamFailure, errorForUpstreamStatus } from '../core/fetch/upstream-errors.js';
import { OciError } from '../core/oci/errors.js';
import { READ_CHUNK_BYTES } from '../core/store/send-file.js';
import { requireDigest } from '../core/store/digest.js';
import { abortable, YieldToPull, type BandwidthBudget, type PrefetchTransfer } from '../core/upstream/bandwidth.js';
import { headerValue, type RegistryClient, type UpstreamResponse } from '../core/upstream/registry-client.js';
import { JobInterruption } from './failures.js';
import type { Descriptor } from './image-walk.js';
import type { PrefetchCore } from './prefetch-core.js';

/**
 * Large prefetch blobs, fetched so that progress is never thrown away: the
 * bytes go to a partial file of prefetch's own (never served), a stopped
 * transfer (a pull came, the job was paused, Layover was killed) continues
 * with an HTTP Range request, and the finished file enters the store only
 * through the store's verified ingest: hashed, then renamed into place.
 *
 * Single flight is kept with the core's fetcher: a blob it is already
 * fetching is followed, not fetched twice; a pull that asks for a blob while
 * this is fetching it starts the core's transfer, and this one steps aside.
 */
export class PartialBlobs {
  readonly dir: string;
  /** Digest -> the download filling its partial file: one writer per file. */
  private readonly running = new Map<string, Promise<void>>();

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'prefetch', 'partial');
  }

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  pathOf(digest: string): string {
    const { algorithm, encoded } = requireDigest(digest);
    return join(this.dir, `${algorithm}-${encoded}`);
  }

  /** Runs one download per digest; a second job asking for the same blob waits for the first (or for its own stop). */
  once(digest: string, signal: AbortSignal | undefined, download: () => Promise<void>): Promise<void> {
    const running = this.running.get(digest);
    if (running) return signal ? abortable(running, signal) : running;
    const started = download().finally(() => this.running.delete(digest));
    this.running.set(digest, started);
    return started;
  }

  async size(digest: string): Promise<number> {
    return (await stat(this.pathOf(digest)).catch(() => undefined))?.size ?? 0;
  }

  async remove(digest: string): Promise<void> {
    await rm(this.pathOf(digest), { force: true });
  }

  /** Partial files no job will come back for: older than maxAgeMs. */
  async removeOlderThan(maxAgeMs: number, now = Date.now()): Promise<number> {
    let removed = 0;
    for (const file of await readdir(this.dir).catch(() => [] as string[])) {
      const info = await stat(join(this.dir, file)).catch(() => undefined);
      if (info && now - info.mtimeMs > maxAgeMs) {
        await rm(join(this.dir, file), { force: true });
        removed += 1;
      }
    }
    return removed;
  }
}

export interface ResumableFetchDependencies {
  core: PrefetchCore;
  budget: BandwidthBudget;
  partials: PartialBlobs;
}

export interface ResumableFetchRequest {
  client: RegistryClient;
  repository: string;
  blob: Descriptor;
  /** The job's pacing: registry, cap, stop signal, progress. */
  transfer: PrefetchTransfer;
}

/** The core's fetcher started this blob (a pull asked for it): follow that transfer instead. */
class CoreTransferStarted extends Error {}

export function fetchResumably(deps: ResumableFetchDependencies, request: ResumableFetchRequest): Promise<void> {
  return deps.partials.once(request.blob.digest, request.transfer.signal, () => fetchUntilStored(deps, request));
}

async function fetchUntilStored(deps: ResumableFetchDependencies, request: ResumableFetchRequest): Promise<void> {
  const { core, budget } = deps;
  const { digest } = request.blob;
  for (;;) {
    if ((await core.store.sizeOf(digest)) !== undefined) return;
    if (core.blobs.isInFlight(digest)) return followCoreTransfer(deps, request);
    try {
      await budget.runPrefetch({ ...request.transfer, interruptible: true }, () => download(deps, request));
      await commit(deps, request);
      return;
    } catch (error) {
      if (error instanceof YieldToPull) await budget.whenPullsEnd(error.registry, request.transfer.signal);
      else if (!(error instanceof CoreTransferStarted)) throw error;
    }
  }
}

async function followCoreTransfer(deps: ResumableFetchDependencies, { client, repository, blob, transfer }: ResumableFetchRequest): Promise<void> {
  await deps.budget.runPrefetch(transfer, async () => {
    const source = await deps.core.blobs.open({ client, repository, digest: blob.digest, kind: 'prefetch' });
    await source.complete();
  });
  await deps.partials.remove(blob.digest);
}

/** Fills the partial file up to the blob's size, from where it stopped if the upstream honours Range. */
async function download(deps: ResumableFetchDependencies, { client, repository, blob }: ResumableFetchRequest): Promise<void> {
  const what = `blob ${blob.digest} of ${repository}`;
  let offset = await deps.partials.size(blob.digest);
  if (offset === blob.size) return;
  if (offset > blob.size) {
    await deps.partials.remove(blob.digest);
    offset = 0;
  }
  const response = await requestFrom(client, repository, blob.digest, offset, what);
  const start = response.status === 206 ? offset : 0;
  const file = await open(deps.partials.pathOf(blob.digest), start === 0 ? 'w' : 'a');
  const tracker = deps.core.telemetry.startTransfer({ registry: client.name, repository, digest: blob.digest, bytesTotal: blob.size, clients: 0, kind: 'prefetch' });
  let written = start;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      await deps.budget.pace(chunk.length, 'prefetch'); // may stop us: a pull came, or the job was paused
      if (deps.core.blobs.isInFlight(blob.digest)) throw new CoreTransferStarted();
      if (written + chunk.length > blob.size) throw new OciError(502, 'BLOB_UNKNOWN', `upstream sent more than the ${blob.size} bytes the manifest names for ${what}`);
      await file.write(chunk);
      written += chunk.length;
      tracker.progress(written - start);
    }
    if (written !== blob.size) throw errorForUpstreamFailure(new Error(`the body ended after ${written} of ${blob.size} bytes`), what);
    tracker.finish(true);
  } catch (error) {
    response.body.destroy();
    // A transfer stopped on purpose moved its bytes well; only a real failure counts as an upstream error.
    tracker.finish(error instanceof YieldToPull || error instanceof CoreTransferStarted || error instanceof JobInterruption);
    throw error;
  } finally {
    await file.close();
  }
}

async function requestFrom(client: RegistryClient, repository: string, digest: string, offset: number, what: string): Promise<UpstreamResponse> {
  let response: UpstreamResponse;
  try {
    response = await client.request({
      method: 'GET', path: `/v2/${repository}/blobs/${digest}`, scope: `repository:${repository}:pull`, followRedirects: true,
      ...(offset > 0 ? { headers: { range: `bytes=${offset}-` } } : {}),
    });
  } catch (error) {
    throw errorForUpstreamFailure(error, what);
  }
  const resumedAt = /^bytes (\d+)-/.exec(headerValue(response.headers['content-range']) ?? '')?.[1];
  if (response.status === 200 || (response.status === 206 && Number(resumedAt) === offset)) return response;
  await response.body.dump();
  if (response.status === 206 || response.status === 416) {
    throw new OciError(503, 'UNAVAILABLE', `upstream answered the resume of ${what} at byte ${offset} with ${response.status === 416 ? 'HTTP 416' : `a range from byte ${resumedAt}`}; starting it over`);
  }
  throw errorForUpstreamStatus(response, 'blob', what);
}

/** Moves the finished partial file into the store through a verified ingest: wrong bytes never become visible. */
async function commit(deps: ResumableFetchDependencies, { client, repository, blob }: ResumableFetchRequest): Promise<void> {
  const { core, partials } = deps;
  if ((await core.store.sizeOf(blob.digest)) === undefined) {
    const ingest = await core.store.createIngest(blob.digest, blob.size);
    try {
      for await (const chunk of createReadStream(partials.pathOf(blob.digest), { highWaterMark: READ_CHUNK_BYTES })) await ingest.write(chunk as Buffer);
      await ingest.finish();
    } catch (error) {
      await ingest.fail(error as Error);
      await partials.remove(blob.digest); // a mismatch means the saved bytes are wrong: the retry starts over
      throw error;
    }
  }
  await partials.remove(blob.digest);
  core.metadata.touch(blob.digest, client.name, repository);
}
