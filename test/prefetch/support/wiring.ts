/**
 * TEMPORARY wiring of the prefetch service into Layover, for these tests
 * only, until the lead applies the wiring diff (see the prefetch report):
 * the same calls headless.ts will make, from the test side.
 */
import { pino } from 'pino';
import type { LayoverApi } from '../../../src-main/api/layover-api.js';
import type { Settings } from '../../../src-main/api/types.js';
import { startHeadless, type HeadlessInstance, type HeadlessOptions } from '../../../src-main/app/headless.js';
import { defaultSettings } from '../../../src-main/app/settings.js';
import { applyFlags } from '../../../src-main/cli/serve-command.js';
import { createPrefetchService, type PrefetchService, type PrefetchServiceOptions } from '../../../src-main/prefetch/prefetch-service.js';
import { freePort, LOOPBACK } from '../../support/ports.js';
import { makeTempDir, removeTempDir } from '../../support/process.js';

export type PrefetchTuning = Omit<PrefetchServiceOptions, 'saveSettings'>;

/** startHeadless with the prefetch service plugged in as ApiExtensions and started after the core. */
export async function startHeadlessWithPrefetch(options: HeadlessOptions, tuning: PrefetchTuning = {}): Promise<{ instance: HeadlessInstance; prefetch: PrefetchService }> {
  let prefetch: PrefetchService | undefined;
  let api: LayoverApi | undefined;
  const instance = await startHeadless({
    ...options,
    extensions: (core) => {
      prefetch = createPrefetchService(core, { ...tuning, saveSettings: (settings) => api!.updateSettings(settings) });
      return prefetch.api;
    },
  });
  api = instance.api;
  await prefetch!.start();
  const stopCore = instance.stop;
  instance.stop = async () => {
    await prefetch!.stop();
    await stopCore();
  };
  return { instance, prefetch: prefetch! };
}

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

/** Like test/support's startLayover (in-process), with prefetch wired in. */
export async function startPrefetchLayover(options: { upstream: string; registries?: string[]; settings?: Partial<Settings>; dataDir?: string; tuning?: PrefetchTuning }): Promise<PrefetchLayover> {
  const dataDir = options.dataDir ?? (await makeTempDir('prefetch-data'));
  const settings = applyFlags({ ...defaultSettings(), ...options.settings }, {
    listen: `${LOOPBACK}:${await freePort()}`, admin: `${LOOPBACK}:${await freePort()}`, upstream: options.upstream, registry: options.registries ?? [],
  });
  const { instance, prefetch } = await startHeadlessWithPrefetch({ dataDir, settings, logger: pino({ level: 'silent' }) }, options.tuning);
  return {
    instance, prefetch, api: instance.api, host: instance.mirrorAddress, url: `http://${instance.mirrorAddress}`, dataDir,
    stop: async () => {
      await instance.stop();
      if (!options.dataDir) await removeTempDir(dataDir);
    },
  };
}
