/**
 * Runs the core for the desktop app exactly as `layover serve` does
 * (startHeadless: mirror, admin listener with the HTTP API and the browser
 * dashboard, instance.json for the CLI), with settings from the desktop's
 * SettingsStore. When it cannot start, the app does not exit: it keeps a
 * stopped API that says why (stopped-api.ts) and can try again.
 *
 * No Electron import: the unit tests start the real core with it.
 */
import type { Logger } from 'pino';
import type { LayoverApi } from '../api/layover-api.js';
import type { Settings } from '../api/types.js';
import { startHeadless, type HeadlessInstance, type HeadlessOptions } from '../app/headless.js';
import { defaultDataDir, findRunningInstance } from '../app/instance.js';
import type { SettingsStore } from '../app/settings-store.js';
import { createStoppedApi, type StoppedApi } from './stopped-api.js';

export interface CoreHostOptions {
  dataDir: string;
  logger: Logger;
  settingsStore: SettingsStore;
  /** Announce in dataDir/instance.json for the CLI (off in tests that run several). */
  announce?: boolean;
  extensions?: HeadlessOptions['extensions'];
  /** Where `layover serve` keeps its instance.json, to name it when it holds our ports. */
  headlessDataDir?: string;
}

export type CoreHostState =
  | { running: true; api: LayoverApi; instance: HeadlessInstance }
  | { running: false; api: LayoverApi; error: string };

export class CoreHost {
  private state?: CoreHostState;
  private stopped?: StoppedApi;
  private transition: Promise<void> = Promise.resolve();

  constructor(private readonly options: CoreHostOptions) {}

  get current(): CoreHostState {
    if (!this.state) throw new Error('the core has not been started');
    return this.state;
  }

  /** The state once any start, restart or stop in progress has settled. */
  async ready(): Promise<CoreHostState> {
    await this.transition;
    return this.current;
  }

  /** Starts the core; on failure the state holds the reason and a stopped API. Never throws. */
  start(): Promise<CoreHostState> {
    return this.serialised(() => this.doStart());
  }

  /** Stops the mirror and the admin listener and flushes the tag index; the state becomes "stopped". */
  stop(): Promise<void> {
    return this.serialised(async () => {
      await this.doStop();
      this.state = undefined;
    });
  }

  restart(): Promise<CoreHostState> {
    return this.serialised(async () => {
      await this.doStop();
      return this.doStart();
    });
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.transition.then(work);
    this.transition = run.then(() => undefined, () => undefined);
    return run;
  }

  private async doStart(): Promise<CoreHostState> {
    const { logger, settingsStore, dataDir } = this.options;
    let settings: Settings | undefined;
    try {
      settings = await settingsStore.load();
      for (const warning of (settingsStore as { warnings?: string[] }).warnings ?? []) logger.warn(warning);
    } catch (error) {
      return this.down(`the settings cannot be used: ${(error as Error).message}`, undefined);
    }
    try {
      const instance = await startHeadless({
        dataDir,
        settings,
        logger,
        settingsStore,
        announce: this.options.announce ?? true,
        ...(this.options.extensions ? { extensions: this.options.extensions } : {}),
      });
      this.state = { running: true, api: instance.api, instance };
      logger.info({ mirror: instance.mirrorAddress, admin: instance.adminUrl, dataDir }, 'desktop core started');
      return this.state;
    } catch (error) {
      return this.down(await this.explain(error as Error), settings);
    }
  }

  private async explain(error: Error): Promise<string> {
    if (!/already in use/.test(error.message)) return error.message;
    const headless = await findRunningInstance(this.options.headlessDataDir ?? defaultDataDir()).catch(() => undefined);
    return headless && headless.pid !== process.pid
      ? `${error.message} (\`layover serve\`, pid ${headless.pid}, is running with ${headless.mirrorAddress}; stop it or give one of the two other ports)`
      : error.message;
  }

  private down(error: string, settings: Settings | undefined): CoreHostState {
    const { logger, settingsStore, dataDir } = this.options;
    logger.error({ error }, 'the mirror could not start');
    this.stopped = createStoppedApi({ reason: error, dataDir, logger, ...(settings ? { settings, settingsStore } : {}) });
    this.state = { running: false, api: this.stopped.api, error };
    return this.state;
  }

  private async doStop(): Promise<void> {
    const state = this.state;
    if (state?.running) await state.instance.stop();
    await this.stopped?.close();
    this.stopped = undefined;
  }
}
