/**
 * Layover with prefetch, for these tests. Until the lead applies the wiring
 * diff (see the prefetch report: startHeadless starts the prefetch service,
 * LayoverApi gains gc, the CLI registers the prefetch commands), this file
 * wires the service in from the test side; afterwards it uses the real
 * wiring. The two landed together, so gc in LAYOVER_METHODS tells which.
 */
import { pino } from 'pino';
import { LAYOVER_METHODS, type LayoverApi, type LayoverMethod } from '../../../src-main/api/layover-api.js';
import type { Settings } from '../../../src-main/api/types.js';
import { startHeadless, type HeadlessInstance, type HeadlessOptions } from '../../../src-main/app/headless.js';
import { defaultSettings } from '../../../src-main/app/settings.js';
import { applyFlags } from '../../../src-main/cli/serve-command.js';
import { createPrefetchService, type PrefetchService, type PrefetchServiceOptions } from '../../../src-main/prefetch/prefetch-service.js';
import { freePort, LOOPBACK } from '../../support/ports.js';
import { makeTempDir, removeTempDir } from '../../support/process.js';

export const PREFETCH_WIRED = LAYOVER_METHODS.includes('gc' as LayoverMethod);

export type PrefetchTuning = Omit<PrefetchServiceOptions, 'saveSettings'>;

/** startHeadless with the prefetch service started after the core (by startHeadless itself once wired). */
export async function startHeadlessWithPrefetch(options: HeadlessOptions, tuning: PrefetchTuning = {}): Promise<{ instance: HeadlessInstance; prefetch: PrefetchService }> {
  if (PREFETCH_WIRED) {
    const wiredOptions: HeadlessOptions & { prefetch?: PrefetchTuning } = { ...options, prefetch: tuning };
    const instance = (await startHeadless(wiredOptions)) as HeadlessInstance & { prefetch: PrefetchService };
    return { instance, prefetch: instance.prefetch };
  }
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

/** Like test/support's startLayover (in-process), with prefetch and its tuning. */
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
