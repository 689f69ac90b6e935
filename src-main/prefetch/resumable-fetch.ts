import { abortable, YieldToPull, type BandwidthBudget, type PrefetchTransfer } from '../core/upstream/bandwidth.js';
import type { RegistryClient } from '../core/upstream/registry-client.js';
import type { Descriptor } from './image-walk.js';
import type { PrefetchCore } from './prefetch-core.js';

/** The partial files live with core's fetcher now (its resumable mode); prefetch reads their sizes for a job's progress. */
export { PartialBlobs } from '../core/fetch/partial-blobs.js';

export interface ResumableFetchDependencies {
  core: PrefetchCore;
  budget: BandwidthBudget;
}

export interface ResumableFetchRequest {
  client: RegistryClient;
  repository: string;
  blob: Descriptor;
  /** The job's pacing: registry, cap, stop signal, progress. */
  transfer: PrefetchTransfer;
}

/**
 * A large prefetch blob, fetched so that progress is never thrown away: core's
 * fetcher in its resumable mode (one pipeline, one single flight). A stopped
 * transfer keeps its bytes and continues with Range; a pull that asks for the
 * blob meanwhile joins the same transfer, which then goes at a pull's pace.
 * While a pull from the same registry runs, the transfer steps aside (it
 * closes its connection, so the link is free at once) and resumes after.
 */
export async function fetchResumably(deps: ResumableFetchDependencies, { client, repository, blob, transfer }: ResumableFetchRequest): Promise<void> {
  for (;;) {
    try {
      await deps.budget.runPrefetch({ ...transfer, interruptible: true }, async () => {
        const handle = await deps.core.blobs.open({ client, repository, digest: blob.digest, kind: 'prefetch', size: blob.size, resumable: true });
        // A job stopped while following another job's transfer stops waiting at once.
        await (transfer.signal ? abortable(handle.complete(), transfer.signal) : handle.complete());
      });
      return;
    } catch (error) {
      if (!(error instanceof YieldToPull)) throw error;
      await deps.budget.whenPullsEnd(error.registry, transfer.signal);
    }
  }
}
