/**
 * The demo's origin content: a small office's images, sized like real ones
 * relative to each other, sharing their base layers as real images do. The
 * pulled image is `demo/app:1.0`; its total size is the demo's `--size` and
 * every layer scales with it.
 */
import type { SampleImageSpec } from './sample-images.js';

const MiB = 1024 * 1024;

/** Big enough to show the difference, small enough that two pulls over a 20 Mbit/s link fit in a minute. */
export const DEFAULT_DEMO_SIZE = 40 * MiB;
/** Below this the layers' tar headers dominate and the numbers mean little. */
export const MIN_DEMO_SIZE = 64 * 1024;
export const MAX_DEMO_SIZE = 8 * 1024 * MiB;

export const DEMO_REPOSITORY = 'demo/app';
export const DEMO_TAG = '1.0';

/** How the app's bytes split over its layers, bottom first, as in a typical service image. */
const APP_LAYERS = [
  { name: 'os-base', share: 0.3 },
  { name: 'runtime', share: 0.35 },
  { name: 'dependencies', share: 0.25 },
  { name: 'app', share: 0.08, files: 12 },
  { name: 'config', share: 0.02, files: 4 },
] as const;

const TAR_BLOCK = 512;

export interface DemoRepository {
  name: string;
  images: SampleImageSpec[];
}

/**
 * The origin's repositories: demo/app (1.0, and 1.1 with a new app layer) and
 * demo/worker (the same OS and runtime). `runId` goes into every seed, so each
 * run's layers are new bytes: a Docker that kept layers from an earlier run
 * still downloads them all.
 */
export function demoRepositories(sizeBytes: number, runId: string): DemoRepository[] {
  const layer = (name: string, share: number, files = 1) => ({ seed: `${runId}/${name}`, size: layerSize(sizeBytes * share), files });
  const [base, runtime, dependencies, app, config] = APP_LAYERS.map((spec) => layer(spec.name, spec.share, 'files' in spec ? spec.files : 1)) as [
    ReturnType<typeof layer>, ReturnType<typeof layer>, ReturnType<typeof layer>, ReturnType<typeof layer>, ReturnType<typeof layer>,
  ];
  const labels = { 'org.opencontainers.image.description': 'Layover demo: simulated sample image' };
  return [
    {
      name: DEMO_REPOSITORY,
      images: [
        { tag: DEMO_TAG, layers: [base, runtime, dependencies, app, config], labels },
        { tag: '1.1', layers: [base, runtime, dependencies, layer('app-1.1', 0.08, 12), config], labels },
      ],
    },
    { name: 'demo/worker', images: [{ tag: DEMO_TAG, layers: [base, runtime, layer('worker', 0.12, 6)], labels }] },
  ];
}

/** Whole tar blocks, so the sample generator makes the layer exactly this size. */
function layerSize(bytes: number): number {
  return Math.max(8 * TAR_BLOCK, Math.round(bytes / TAR_BLOCK) * TAR_BLOCK);
}

export function checkDemoSize(bytes: number): number {
  if (!Number.isFinite(bytes) || bytes < MIN_DEMO_SIZE || bytes > MAX_DEMO_SIZE) {
    throw new Error(`the demo image must be between ${MIN_DEMO_SIZE / 1024} KiB and ${MAX_DEMO_SIZE / 1024 / MiB} GiB, got ${bytes} bytes`);
  }
  return bytes;
}
