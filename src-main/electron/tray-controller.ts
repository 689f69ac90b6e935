/**
 * Keeps the tray in step with the core: subscribes to LayoverApi's events,
 * polls getStatus (endpoint health changes without an event), decides the
 * appearance, the menu and the notifications through the pure modules, and
 * carries out the menu's actions through the same LayoverApi the dashboard
 * uses. Everything Electron-specific is behind TrayControllerDeps, so this
 * runs in unit tests against a fake LayoverApi and fake timers.
 */
import type { LayoverApi } from '../api/layover-api.js';
import type { DockerStatus, JobState, LayoverEvent, Settings, Status } from '../api/types.js';
import { decideNotifications, emptyMemory, type Notice, type NoticePage, type NotifyMemory } from './notifications.js';
import { trayMenuModel, type MenuEntry, type TrayAction } from './tray-menu.js';
import { trayAppearance, type TrayAppearance } from './tray-state.js';

/** Where the dashboard can be opened: a notice's page, or the demo. */
export type DashboardTarget = NoticePage | 'demo';

export interface TrayView {
  appearance: TrayAppearance;
  menu: MenuEntry[];
}

export interface Timers {
  setInterval(handler: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  setTimeout(handler: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The running core's admin listener, when the setting browserDashboard turned it on. */
export interface BrowserDashboard {
  /** A fresh URL with a one-time login code (HeadlessInstance.dashboardLoginUrl); undefined once the listener is gone. */
  loginUrl(): string | undefined;
}

export interface TrayControllerDeps {
  render(view: TrayView): void;
  notify(notice: Notice): void;
  openDashboard(page?: DashboardTarget): void;
  /** Opens a URL in the person's browser (shell.openExternal). */
  openExternal(url: string): Promise<void>;
  copyText(text: string): void;
  quit(): void;
  retryStart(): void;
  /** Makes the OS start Layover at login, or stop doing so. */
  applyStartAtLogin(enabled: boolean): Promise<void>;
  log(level: 'info' | 'warn' | 'error', message: string, error?: unknown): void;
  now(): number;
  timers: Timers;
  /** Status poll; events trigger a refresh sooner. */
  pollMs?: number;
  /** getDockerStatus asks the Docker Engine, which is not free: at most this often. */
  dockerPollMs?: number;
  /** Events come in bursts (4 transfer events a second per blob): one refresh per burst. */
  debounceMs?: number;
}

const ACTIVE_JOB_STATES: ReadonlySet<JobState> = new Set(['queued', 'planning', 'running']);

export class TrayController {
  private api?: LayoverApi;
  private coreError?: string;
  private browserDashboard?: BrowserDashboard;
  private unsubscribe?: () => void;
  private pollTimer?: unknown;
  private debounceTimer?: unknown;
  private status?: Status;
  private docker?: DockerStatus;
  private dockerSupported = true;
  private lastDockerCheck = Number.NEGATIVE_INFINITY;
  private startAtLogin?: boolean;
  private appliedStartAtLogin?: boolean;
  private readonly activeJobs = new Map<string, JobState>();
  private demoRunning = false;
  private memory: NotifyMemory = emptyMemory();
  private readonly unavailable = new Set<TrayAction>();
  private readonly busy = new Set<TrayAction>();
  private refreshing?: Promise<void>;
  private refreshAgain = false;
  private lastRendered = '';
  private stopped = false;

  constructor(private readonly deps: TrayControllerDeps) {}

  /**
   * The API to follow: the running core's, or the stopped one's with the
   * reason it could not start; with the admin listener when it runs.
   */
  attach(api: LayoverApi, coreError?: string, browserDashboard?: BrowserDashboard): Promise<void> {
    this.detachApi();
    this.api = api;
    this.coreError = coreError;
    this.browserDashboard = browserDashboard;
    this.status = undefined;
    this.docker = undefined;
    this.dockerSupported = true;
    this.lastDockerCheck = Number.NEGATIVE_INFINITY;
    this.activeJobs.clear();
    this.demoRunning = false;
    this.unavailable.clear();
    // A new core: what the person was told about the old one's upstreams no longer holds.
    this.memory = { ...emptyMemory(), ...(this.memory.dockerUsesLayover === undefined ? {} : { dockerUsesLayover: this.memory.dockerUsesLayover }) };
    try {
      this.unsubscribe = api.subscribe((event) => this.onEvent(event));
    } catch (error) {
      this.deps.log('warn', 'live updates unavailable; the tray polls only', error);
    }
    this.pollTimer = this.deps.timers.setInterval(() => void this.refresh(), this.deps.pollMs ?? 5_000);
    this.render();
    return this.refresh();
  }

  stop(): void {
    this.stopped = true;
    this.detachApi();
  }

  private detachApi(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.pollTimer !== undefined) this.deps.timers.clearInterval(this.pollTimer);
    if (this.debounceTimer !== undefined) this.deps.timers.clearTimeout(this.debounceTimer);
    this.pollTimer = undefined;
    this.debounceTimer = undefined;
  }

  /** The current view, as last rendered. */
  view(): TrayView {
    const appearance = trayAppearance({
      status: this.status,
      ...(this.coreError === undefined ? {} : { coreError: this.coreError }),
      ...(this.docker ? { docker: this.docker } : {}),
      activeJobs: [...this.activeJobs.values()].filter((state) => ACTIVE_JOB_STATES.has(state)).length,
    });
    const menu = trayMenuModel({
      appearance,
      ...(this.status ? { status: this.status } : {}),
      ...(this.docker ? { docker: this.docker } : {}),
      ...(this.startAtLogin === undefined ? {} : { startAtLogin: this.startAtLogin }),
      ...(this.coreError === undefined ? {} : { coreError: this.coreError }),
      unavailable: this.unavailable,
      busy: this.busy,
      demoRunning: this.demoRunning,
      browserDashboard: this.browserDashboard !== undefined,
    });
    return { appearance, menu };
  }

  private render(): void {
    if (this.stopped) return;
    const view = this.view();
    const key = JSON.stringify(view);
    if (key === this.lastRendered) return;
    this.lastRendered = key;
    this.deps.render(view);
  }

  private onEvent(event: LayoverEvent): void {
    if (this.stopped) return;
    if (event.type === 'job') {
      if (ACTIVE_JOB_STATES.has(event.job.state)) this.activeJobs.set(event.job.id, event.job.state);
      else this.activeJobs.delete(event.job.id);
    }
    if (event.type === 'settings') this.onSettings(event.settings);
    if (event.type === 'status') this.status = event.status;
    if (event.type === 'demo') this.demoRunning = event.demo.state === 'preparing' || event.demo.state === 'running';
    this.observe({ kind: 'event', event, now: this.deps.now() });
    if (event.type === 'job' || event.type === 'status' || event.type === 'demo') this.render();
    this.scheduleRefresh();
  }

  private scheduleRefresh(): void {
    if (this.debounceTimer !== undefined || this.stopped) return;
    this.debounceTimer = this.deps.timers.setTimeout(() => {
      this.debounceTimer = undefined;
      void this.refresh();
    }, this.deps.debounceMs ?? 750);
  }

  /** Asks the core for its status (and Docker's, and the settings), then redraws and notifies. One at a time. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = this.doRefresh().finally(() => {
      this.refreshing = undefined;
      if (this.refreshAgain && !this.stopped) {
        this.refreshAgain = false;
        void this.refresh();
      }
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    const api = this.api;
    if (!api || this.stopped) return;
    try {
      this.status = await api.getStatus();
    } catch (error) {
      this.deps.log('warn', 'getStatus failed', error);
    }
    if (api !== this.api) return;
    await this.refreshDocker(api);
    try {
      this.onSettings(await api.getSettings());
    } catch {
      // Unreadable settings leave the Start at login item as it was (disabled until known).
    }
    if (api !== this.api || this.stopped) return;
    if (this.status) this.observe({ kind: 'status', status: this.status, ...(this.docker ? { docker: this.docker } : {}), now: this.deps.now() });
    this.render();
  }

  private async refreshDocker(api: LayoverApi): Promise<void> {
    if (this.status?.docker) {
      this.docker = this.status.docker;
      return;
    }
    const now = this.deps.now();
    if (!this.dockerSupported || this.coreError !== undefined || now - this.lastDockerCheck < (this.deps.dockerPollMs ?? 30_000)) return;
    this.lastDockerCheck = now;
    try {
      this.docker = await api.getDockerStatus();
    } catch (error) {
      if (codeOf(error) === 'NOT_AVAILABLE') this.dockerSupported = false;
      this.docker = undefined;
    }
  }

  private observe(observation: Parameters<typeof decideNotifications>[1]): void {
    const { memory, notices } = decideNotifications(this.memory, observation);
    this.memory = memory;
    for (const notice of notices) this.deps.notify(notice);
  }

  /** Settings changed (through the tray, the dashboard, or seen in a poll): the OS login item follows startAtLogin. */
  onSettings(settings: Settings): void {
    const changed = this.startAtLogin !== settings.startAtLogin;
    this.startAtLogin = settings.startAtLogin;
    if (changed) this.render();
    if (this.appliedStartAtLogin === settings.startAtLogin) return;
    const wanted = settings.startAtLogin;
    this.appliedStartAtLogin = wanted;
    this.deps.applyStartAtLogin(wanted).catch((error: unknown) => {
      this.appliedStartAtLogin = undefined;
      this.deps.log('error', 'could not change start at login', error);
      this.deps.notify({ key: 'start-at-login', title: 'Start at login could not be changed', body: messageOf(error), page: 'settings' });
    });
  }

  /** A menu item was chosen. */
  async handle(action: TrayAction): Promise<void> {
    switch (action) {
      case 'open-dashboard':
        return this.deps.openDashboard();
      case 'open-dashboard-in-browser':
        return this.openInBrowser();
      case 'configure-docker':
        return this.deps.openDashboard('docker');
      case 'copy-mirror-address':
        if (this.status) this.deps.copyText(this.status.mirrorAddress);
        return;
      case 'retry-start':
        return this.deps.retryStart();
      case 'quit':
        return this.deps.quit();
      case 'prefetch-now':
        return this.run(action, 'Prefetch could not start', async (api) => {
          const jobs = await api.syncNow({});
          if (jobs.length === 0) {
            this.deps.notify({ key: 'prefetch-now', title: 'Nothing to prefetch', body: 'No prefetch rule is enabled. Add one on the Repositories page.', page: 'repositories' });
          }
        });
      case 'toggle-prefetch-paused': {
        const paused = !(this.status?.prefetchPaused ?? false);
        return this.run(action, paused ? 'Prefetch could not be paused' : 'Prefetch could not be resumed', (api) => api.setPrefetchPaused({ paused }));
      }
      case 'run-demo':
        // The dashboard shows the three pulls side by side; it opens first so the run is seen from its start.
        this.deps.openDashboard('demo');
        if (this.demoRunning) return;
        return this.run(action, 'The demo could not start', async (api) => {
          await api.startDemo({}).catch((error: unknown) => {
            if (codeOf(error) !== 'DEMO_RUNNING') throw error; // started elsewhere a moment ago: the page shows it
          });
        });
      case 'toggle-start-at-login': {
        const wanted = !(this.startAtLogin ?? false);
        return this.run(action, 'Start at login could not be changed', async (api) => {
          this.onSettings(await api.updateSettings({ startAtLogin: wanted }));
        });
      }
    }
  }

  /** Opens the browser dashboard with a fresh login link: the page logs in once and the link is spent. */
  private async openInBrowser(): Promise<void> {
    const url = this.browserDashboard?.loginUrl();
    if (url === undefined) {
      this.deps.notify({ key: 'action:open-dashboard-in-browser', title: 'The browser dashboard is off', body: 'Turn on "Dashboard in a browser and the command line" in Settings.', page: 'settings' });
      return;
    }
    try {
      await this.deps.openExternal(url);
    } catch (error) {
      this.deps.log('warn', 'could not open the browser', error);
      this.deps.notify({ key: 'action:open-dashboard-in-browser', title: 'The browser could not be opened', body: messageOf(error), page: 'overview' });
    }
  }

  private async run(action: TrayAction, failure: string, work: (api: LayoverApi) => Promise<void>): Promise<void> {
    const api = this.api;
    if (!api || this.busy.has(action)) return;
    this.busy.add(action);
    this.render();
    try {
      await work(api);
    } catch (error) {
      if (codeOf(error) === 'NOT_AVAILABLE') this.unavailable.add(action);
      this.deps.log('warn', failure, error);
      this.deps.notify({ key: `action:${action}`, title: failure, body: messageOf(error), page: 'overview' });
    } finally {
      this.busy.delete(action);
    }
    await this.refresh();
    this.render();
  }
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
