/**
 * Runs the core for the desktop app as `layover serve` does (startHeadless:
 * mirror, instance.json for the CLI), with settings from the desktop's
 * SettingsStore. The admin HTTP listener (the dashboard in a browser, the
 * `layover` command line against this instance) runs only when the setting
 * browserDashboard is on: the window speaks IPC and never needs it. Turning
 * the setting on or off restarts the core, which is what starts or stops the
 * listener. When the core cannot start, the app does not exit: it keeps a
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
  /** The core restarted by itself (browserDashboard changed): the shell follows the new API. */
  onRestarted?(state: CoreHostState): void;
}

export type CoreHostState =
  | { running: true; api: LayoverApi; instance: HeadlessInstance }
  | { running: false; api: LayoverApi; error: string };

export class CoreHost {
  private state?: CoreHostState;
  private stopped?: StoppedApi;
  private transition: Promise<void> = Promise.resolve();
  /** Stops watching the running core's settings for a change of browserDashboard. */
  private unwatch?: () => void;

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
      const adminListener = settings.browserDashboard === true;
      const instance = await startHeadless({
        dataDir,
        settings,
        logger,
        settingsStore,
        announce: this.options.announce ?? true,
        adminListener,
        ...(this.options.extensions ? { extensions: this.options.extensions } : {}),
      });
      this.state = { running: true, api: instance.api, instance };
      this.watchBrowserDashboard(instance, adminListener);
      logger.info({ mirror: instance.mirrorAddress, admin: instance.adminUrl ?? 'off (setting browserDashboard)', dataDir }, 'desktop core started');
      return this.state;
    } catch (error) {
      return this.down(await this.explain(error as Error), settings);
    }
  }

  /**
   * The listener is started or stopped with the core, so a change of
   * browserDashboard (from the window, the tray, or the CLI while the listener
   * still runs) restarts it. The restart waits a turn of the event loop: the
   * call that changed the setting gets its answer before its listener closes.
   */
  private watchBrowserDashboard(instance: HeadlessInstance, running: boolean): void {
    this.unwatch = instance.api.subscribe((event) => {
      if (event.type !== 'settings' || (event.settings.browserDashboard === true) === running || this.state?.api !== instance.api) return;
      this.unwatch?.();
      this.unwatch = undefined;
      this.options.logger.info({ browserDashboard: !running }, 'restarting the core to turn the admin listener %s', running ? 'off' : 'on');
      setImmediate(() => {
        if (this.state?.api !== instance.api) return; // stopped or restarted meanwhile
        void this.restart().then((state) => this.options.onRestarted?.(state));
      });
    });
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
    this.unwatch?.();
    this.unwatch = undefined;
    const state = this.state;
    if (state?.running) await state.instance.stop();
    await this.stopped?.close();
    this.stopped = undefined;
  }
}
