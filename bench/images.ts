/**
 * The images the bench pulls, generated (deterministic OCI layouts with real
 * tar layers) and pushed to the upstream registry. Every cold round gets an
 * image of its own, with layers no other image shares, so the caches stay
 * running (as they would in an office) and are still cold for each round.
 * Docker only mirrors Docker Hub images, so pulled repositories are library/...
 */
import { join } from 'node:path';
import { writeSampleLayout, type SampleImageSpec, type SampleTag } from '../src-main/demo/sample-images.js';
import type { TestRegistry } from '../test/support/registry.js';
import { pushLayoutTag } from '../test/support/skopeo.js';
import { mapConcurrently } from './client.js';
import type { BenchOptions } from './options.js';

export interface BenchImage {
  repository: string;
  tag: string;
  /** Manifest, config and layers, each once: what a pull transfers. */
  totalBytes: number;
  layers: number;
}

export interface BenchBlob {
  repository: string;
  digest: string;
  size: number;
}

export interface BenchImages {
  /** The single large blob served warm (case 1). */
  warmBlob: BenchBlob;
  /** One per round: cold pulls over the link (case 2). */
  cold: BenchImage[];
  /** One per round: many clients at once (case 3). */
  burst: BenchImage[];
  /** One per round: docker pull (case 6). */
  docker: BenchImage[];
  /** A small image whose tag is resolved again and again (case 5), and the warm requests of the grown store (case 8). */
  tags: BenchImage;
  /** One large blob per cache, fetched cold and then warm by many clients (case 7); empty when the case does not run. */
  memory: BenchBlob[];
}

/** How a cold image's bytes split over its layers: a big base, a runtime, the app, a thin top. */
const COLD_SPLIT = [0.5, 0.25, 0.15, 0.1];
const BURST_SPLIT = [0.5, 0.3, 0.2];
const TAR_BLOCK = 512;

interface Planned {
  spec: SampleImageSpec;
  repository: string;
}

export async function prepareImages(options: BenchOptions, upstream: TestRegistry, workDir: string, log: (line: string) => void): Promise<BenchImages> {
  const rounds = Array.from({ length: options.rounds }, (_, round) => round);
  const plan = {
    warm: planned('warm', 'bench/warm', [1], options.blobBytes),
    cold: rounds.map((round) => planned(`cold-r${round}`, `library/bench-cold-r${round}`, COLD_SPLIT, options.imageBytes)),
    burst: rounds.map((round) => planned(`burst-r${round}`, `library/bench-burst-r${round}`, BURST_SPLIT, options.concurrentImageBytes)),
    docker: rounds.map((round) => planned(`docker-r${round}`, `library/bench-docker-r${round}`, COLD_SPLIT, options.imageBytes)),
    tags: planned('tags', 'library/bench-tags', [1], 64 * 1024),
    memory: options.cases.has('memory') ? ['layover', 'peer'].map((cache) => planned(`memory-${cache}`, `bench/memory-${cache}`, [1], options.memoryBlobBytes)) : [],
  };
  const all = [plan.warm, ...plan.cold, ...plan.burst, ...plan.docker, plan.tags, ...plan.memory];
  const layoutDir = join(workDir, 'layout');
  log(`generating ${all.length} images`);
  const layout = await writeSampleLayout(layoutDir, all.map((image) => image.spec));
  log(`pushing ${(layout.totalBytes / 1024 / 1024).toFixed(0)} MiB to the upstream registry`);
  await mapConcurrently(all, 2, (image) =>
    pushLayoutTag({ layoutDir, tag: image.spec.tag, registryHost: upstream.host, repository: image.repository, destinationTag: 'latest' }));
  const tagOf = (image: Planned) => layout.tags.find((tag) => tag.tag === image.spec.tag)!;
  const describe = (image: Planned): BenchImage => summary(image.repository, tagOf(image));
  const blobOf = (image: Planned): BenchBlob => {
    const layer = tagOf(image).manifests[0]!.layers[0]!;
    return { repository: image.repository, digest: layer.digest, size: layer.size };
  };
  return {
    warmBlob: blobOf(plan.warm),
    memory: plan.memory.map(blobOf),
    cold: plan.cold.map(describe),
    burst: plan.burst.map(describe),
    docker: plan.docker.map(describe),
    tags: describe(plan.tags),
  };
}

function planned(tag: string, repository: string, split: number[], totalBytes: number): Planned {
  const layers = split.map((share, index) => ({
    // Whole tar blocks, so the layer is exactly this size; seeds unique to the image, so no layer is shared.
    size: Math.max(4 * TAR_BLOCK, Math.round((share * totalBytes) / TAR_BLOCK) * TAR_BLOCK),
    seed: `bench:${tag}:layer${index}`,
  }));
  return { repository, spec: { tag, layers } };
}

function summary(repository: string, tag: SampleTag): BenchImage {
  return { repository, tag: 'latest', totalBytes: tag.totalBytes, layers: tag.manifests[0]!.layers.length };
}
