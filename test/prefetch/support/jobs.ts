/** Waiting on prefetch jobs and reading what they fetched, for the prefetch tests. */
import type { LayoverApi } from '../../../src-main/api/layover-api.js';
import type { JobStatus } from '../../../src-main/api/types.js';
import type { SampleTag } from '../../../src-main/demo/sample-images.js';
import type { TestRegistry } from '../../support/registry.js';
import { sleep } from '../../support/process.js';

const FINISHED = new Set(['done', 'failed', 'cancelled']);

/** Polls until the job is done, failed or cancelled; throws with its last status after timeoutMs. */
export async function waitForJob(api: Pick<LayoverApi, 'listJobs'>, id: string, timeoutMs = 30_000): Promise<JobStatus> {
  return waitForJobState(api, id, (job) => FINISHED.has(job.state), timeoutMs);
}

export async function waitForJobState(api: Pick<LayoverApi, 'listJobs'>, id: string, until: (job: JobStatus) => boolean, timeoutMs = 30_000): Promise<JobStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await api.listJobs()).find((candidate) => candidate.id === id);
    if (job && until(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} did not get there within ${timeoutMs} ms: ${JSON.stringify(job)}`);
    await sleep(50);
  }
}

/** Prefetches and waits; fails the test with the job's reason if it did not finish. */
export async function prefetchDone(api: LayoverApi, request: Parameters<LayoverApi['prefetch']>[0]): Promise<JobStatus> {
  const job = await waitForJob(api, (await api.prefetch(request)).id);
  if (job.state !== 'done') throw new Error(`prefetch of ${request.repository} ended ${job.state}: ${job.error}`);
  return job;
}

/** The blob digests the upstream served with GET since `since` (manifests are not blobs: /manifests/). */
export async function blobGetsSince(registry: TestRegistry, since: number): Promise<string[]> {
  const entries = await registry.requests({ method: 'GET', pathIncludes: '/blobs/', since });
  return entries.map((entry) => entry.path.slice(entry.path.lastIndexOf('/') + 1)).sort();
}

/** Config and layer digests of a tag's images, optionally of one architecture only. */
export function blobsOf(tag: SampleTag, architecture?: string): string[] {
  return tag.manifests
    .filter((manifest) => !architecture || manifest.platform.architecture === architecture)
    .flatMap((manifest) => [manifest.config.digest, ...manifest.layers.map((layer) => layer.digest)])
    .sort();
}
