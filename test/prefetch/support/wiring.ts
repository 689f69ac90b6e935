/** Layover with prefetch, in-process, for these tests: test/support's startLayover, named for what prefetch tests use. */
import type { LayoverApi } from '../../../src-main/api/layover-api.js';
import type { Settings } from '../../../src-main/api/types.js';
import type { HeadlessInstance, HeadlessOptions } from '../../../src-main/app/headless.js';
import type { PrefetchService } from '../../../src-main/prefetch/prefetch-service.js';
import { startLayover } from '../../support/layover.js';

export type PrefetchTuning = NonNullable<HeadlessOptions['prefetch']>;

export interface PrefetchLayover {
  instance: HeadlessInstance;
  prefetch: PrefetchService;
  api: LayoverApi;
  /** 127.0.0.1:PORT of the mirror, for image references. */
  host: string;
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startPrefetchLayover(options: { upstream: string; registries?: string[]; settings?: Partial<Settings>; dataDir?: string; tuning?: PrefetchTuning }): Promise<PrefetchLayover> {
  const layover = await startLayover({
    upstream: options.upstream,
    ...(options.registries ? { registries: options.registries } : {}),
    ...(options.settings ? { settings: options.settings } : {}),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.tuning ? { prefetch: options.tuning } : {}),
  });
  return { ...layover, prefetch: layover.instance.prefetch, api: layover.instance.api };
}
