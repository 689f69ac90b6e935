import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LayoverApi } from '../api/layover-api.js';
import { LAYOVER_METHODS } from '../api/layover-api.js';
import type { DemoStatus, DockerStatus, LayoverEvent, Settings, Status } from '../api/types.js';
import { NotAvailableError } from '../app/api-service.js';
import { defaultSettings } from '../app/settings.js';
import type { Notice } from './notifications.js';
import { docker, job, registry, status } from './test-fixtures.js';
import { TrayController, type Timers, type TrayView } from './tray-controller.js';
import type { TrayAction } from './tray-menu.js';

/** A LayoverApi whose answers the test sets, recording the calls. */
function fakeApi() {
  const state = {
    status: status(),
    settings: defaultSettings() as Settings,
    docker: docker(true) as DockerStatus | Error,
    calls: [] as Array<[string, unknown]>,
    listeners: new Set<(event: LayoverEvent) => void>(),
    failures: new Map<string, Error>(),
  };
  const api: Record<string, unknown> = {};
  for (const method of LAYOVER_METHODS) {
    api[method] = async (arg: unknown) => {
      state.calls.push([method, arg]);
      const failure = state.failures.get(method);
      if (failure) throw failure;
      throw new Error(`unexpected call ${method}`);
    };
  }
  const answer = (method: string, fn: (arg: never) => unknown) => {
    api[method] = async (arg: never) => {
      state.calls.push([method, arg]);
      const failure = state.failures.get(method);
      if (failure) throw failure;
      return fn(arg);
    };
  };
  answer('getStatus', () => state.status);
  answer('getSettings', () => state.settings);
  answer('getDockerStatus', () => {
    if (state.docker instanceof Error) throw state.docker;
    return state.docker;
  });
  answer('updateSettings', (patch: Partial<Settings>) => (state.settings = { ...state.settings, ...patch }));
  answer('syncNow', () => []);
  answer('setPrefetchPaused', ({ paused }: { paused: boolean }) => {
    state.status = { ...state.status, prefetchPaused: paused };
  });
  api.subscribe = (listener: (event: LayoverEvent) => void) => {
    state.listeners.add(listener);
    return () => state.listeners.delete(listener);
  };
  return { api: api as unknown as LayoverApi, state, emit: (event: LayoverEvent) => state.listeners.forEach((l) => l(event)) };
}

function manualTimers() {
  let next = 1;
  const intervals = new Map<number, () => void>();
  const timeouts = new Map<number, () => void>();
  const timers: Timers = {
    setInterval: (handler) => {
      intervals.set(next, handler);
      return next++;
    },
    clearInterval: (handle) => intervals.delete(handle as number),
    setTimeout: (handler) => {
      timeouts.set(next, handler);
      return next++;
    },
    clearTimeout: (handle) => timeouts.delete(handle as number),
  };
  return {
    timers,
    intervals,
    timeouts,
    fireTimeouts: () => {
      const due = [...timeouts.values()];
      timeouts.clear();
      due.forEach((handler) => handler());
    },
  };
}

function setup() {
  const fake = fakeApi();
  const clock = manualTimers();
  const views: TrayView[] = [];
  const notices: Notice[] = [];
  const opened: Array<string | undefined> = [];
  const copied: string[] = [];
  const external: string[] = [];
  const loginItem: boolean[] = [];
  let now = 0;
  let quits = 0;
  let retries = 0;
  const controller = new TrayController({
    render: (view) => views.push(view),
    notify: (notice) => notices.push(notice),
    openDashboard: (page) => opened.push(page),
    openExternal: async (url) => {
      external.push(url);
    },
    copyText: (text) => copied.push(text),
    quit: () => quits++,
    retryStart: () => retries++,
    applyStartAtLogin: async (enabled) => {
      loginItem.push(enabled);
    },
    log: () => {},
    now: () => now,
    timers: clock.timers,
  });
  return {
    fake, clock, views, notices, opened, copied, external, loginItem, controller,
    last: () => views.at(-1)!,
    advance: (ms: number) => {
      now += ms;
    },
    counts: () => ({ quits, retries }),
  };
}

const labelOf = (view: TrayView, action: TrayAction) => {
  const entry = view.menu.find((e) => 'action' in e && e.action === action);
  return entry && 'label' in entry ? entry.label : undefined;
};

test('attach: subscribes, polls, and draws the status it reads', async () => {
  const t = setup();
  await t.controller.attach(t.fake.api);
  assert.equal(t.fake.state.listeners.size, 1);
  assert.equal(t.clock.intervals.size, 1);
  assert.equal(t.views[0]!.appearance.statusLine, 'Starting…', 'drawn at once, before the first answer');
  assert.equal(t.last().appearance.state, 'ready');
  assert.equal(t.last().appearance.tooltip, 'Layover: Mirror ready on 127.0.0.1:5050');
  assert.equal(labelOf(t.last(), 'configure-docker'), 'Docker: using Layover ✓');
  assert.deepEqual(t.loginItem, [false], 'the login item is made to match the settings at start');
});

test('a poll that changes nothing draws nothing; a change redraws', async () => {
  const t = setup();
  await t.controller.attach(t.fake.api);
  const drawn = t.views.length;
  await t.controller.refresh();
  assert.equal(t.views.length, drawn);
  t.fake.state.status = status({ state: 'offline', summary: 'Serving from cache: docker.io unreachable', registries: [registry('docker.io', 'down')] });
  await t.controller.refresh();
  assert.equal(t.views.length, drawn + 1);
  assert.equal(t.last().appearance.state, 'offline');
});

test('events: a burst causes one refresh; job events drive syncing and notifications', async () => {
  const t = setup();
  await t.controller.attach(t.fake.api);
  const before = t.fake.state.calls.filter(([m]) => m === 'getStatus').length;
  t.fake.emit({ type: 'job', job: job('j1', 'running') });
  t.fake.emit({ type: 'transfer', transfer: { id: 't', registry: 'docker.io', repository: 'a', digest: 'sha256:0', bytesDone: 1, bytesPerSecond: 1, clients: 1, kind: 'prefetch', startedAt: 0 }, done: false });
  assert.equal(t.last().appearance.state, 'syncing', 'a job event redraws at once');
  assert.equal(t.clock.timeouts.size, 1, 'one debounced refresh for the burst');
  t.clock.fireTimeouts();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(t.fake.state.calls.filter(([m]) => m === 'getStatus').length, before + 1);
  t.fake.emit({ type: 'job', job: job('j1', 'done') });
  assert.equal(t.last().appearance.state, 'ready');
  assert.deepEqual(t.notices.map((n) => n.title), ['Prefetched library/alpine:3.20']);
});

test('upstream lost and Docker bypassing the mirror are noticed in polls', async () => {
  const t = setup();
  await t.controller.attach(t.fake.api);
  t.fake.state.status = status({ state: 'offline', registries: [registry('docker.io', 'down')] });
  t.advance(1000);
  await t.controller.refresh();
  assert.deepEqual(t.notices.map((n) => n.title), ['docker.io is unreachable']);
  t.fake.state.docker = docker(false);
  t.advance(30_000);
  await t.controller.refresh();
  assert.deepEqual(t.notices.map((n) => n.title), ['docker.io is unreachable', 'Docker stopped using Layover']);
  assert.equal(t.last().appearance.state, 'problem');
});

test('Docker is asked at most every 30 s, and not again once the build says it cannot', async () => {
  const t = setup();
  await t.controller.attach(t.fake.api);
  const dockerCalls = () => t.fake.state.calls.filter(([m]) => m === 'getDockerStatus').length;
  assert.equal(dockerCalls(), 1);
  await t.controller.refresh();
  assert.equal(dockerCalls(), 1);
  t.advance(30_000);
  t.fake.state.docker = new NotAvailableError('Docker integration is not available in this build of Layover');
  await t.controller.refresh();
  assert.equal(dockerCalls(), 2);
  assert.equal(labelOf(t.last(), 'configure-docker'), 'Configure Docker…');
  t.advance(60_000);
  await t.controller.refresh();
  assert.equal(dockerCalls(), 2);
});

test('Status.docker, when the core reports it, is used instead of asking', async () => {
  const t = setup();
  t.fake.state.status = status({ docker: docker(true) });
  await t.controller.attach(t.fake.api);
  assert.equal(t.fake.state.calls.filter(([m]) => m === 'getDockerStatus').length, 0);
  assert.equal(labelOf(t.last(), 'configure-docker'), 'Docker: using Layover ✓');
});

test('menu actions: dashboard pages, copy, quit', async () => {
  const t = setup();
  await t.controller.attach(t.fake.api);
  await t.controller.handle('open-dashboard');
  await t.controller.handle('configure-docker');
  await t.controller.handle('copy-mirror-address');
  await t.controller.handle('quit');
  assert.deepEqual(t.opened, [undefined, 'docker']);
  assert.deepEqual(t.copied, ['127.0.0.1:5050']);
  assert.equal(t.counts().quits, 1);
});

test('Open dashboard in browser: offered only with the admin listener, and always opens a fresh login link', async () => {
  const t = setup();
  await t.controller.attach(t.fake.api);
  assert.equal(labelOf(t.last(), 'open-dashboard-in-browser'), undefined, 'no listener, no item');

  let issued = 0;
  await t.controller.attach(t.fake.api, undefined, { loginUrl: () => `http://127.0.0.1:5051/login?code=c${++issued}` });
  assert.equal(labelOf(t.last(), 'open-dashboard-in-browser'), 'Open dashboard in browser');
  await t.controller.handle('open-dashboard-in-browser');
  await t.controller.handle('open-dashboard-in-browser');
  assert.deepEqual(t.external, ['http://127.0.0.1:5051/login?code=c1', 'http://127.0.0.1:5051/login?code=c2'], 'one code per opening: a code logs in once');
  assert.deepEqual(t.opened, [], 'the window is not opened instead');

  // The listener went away under the menu (the core restarted without it): nothing is opened, the person is told where to turn it on.
  await t.controller.attach(t.fake.api, undefined, { loginUrl: () => undefined });
  await t.controller.handle('open-dashboard-in-browser');
  assert.equal(t.external.length, 2);
  assert.deepEqual(t.notices.at(-1), { key: 'action:open-dashboard-in-browser', title: 'The browser dashboard is off', body: 'Turn on "Dashboard in a browser and the command line" in Settings.', page: 'settings' });
});

test('Run demo opens the Demo page and starts a run; while one runs, the item shows it', async () => {
  const t = setup();
  await t.controller.attach(t.fake.api);
  const started: unknown[] = [];
  t.fake.api.startDemo = async (request) => {
    started.push(request);
    return { state: 'preparing' } as DemoStatus;
  };
  await t.controller.handle('run-demo');
  assert.deepEqual(t.opened, ['demo']);
  assert.deepEqual(started, [{}]);
  t.fake.emit({ type: 'demo', demo: { state: 'running' } as DemoStatus });
  assert.equal(labelOf(t.last(), 'run-demo'), 'Show the running demo');
  await t.controller.handle('run-demo');
  assert.deepEqual(t.opened, ['demo', 'demo']);
  assert.equal(started.length, 1, 'a running demo is shown, not started again');
  t.fake.emit({ type: 'demo', demo: { state: 'done' } as DemoStatus });
  assert.equal(labelOf(t.last(), 'run-demo'), 'Run demo');
});

test('Run demo: one started elsewhere a moment ago is no failure; a real failure is told', async () => {
  const t = setup();
  await t.controller.attach(t.fake.api);
  t.fake.state.failures.set('startDemo', Object.assign(new Error('A demo is already running'), { code: 'DEMO_RUNNING' }));
  await t.controller.handle('run-demo');
  assert.equal(t.notices.length, 0);
  t.fake.state.failures.set('startDemo', new Error('no space left on device'));
  await t.controller.handle('run-demo');
  assert.deepEqual(t.notices.at(-1), { key: 'action:run-demo', title: 'The demo could not start', body: 'no space left on device', page: 'overview' });
});

test('Pause and Resume prefetch go through the API and the label follows', async () => {
  const t = setup();
  await t.controller.attach(t.fake.api);
  await t.controller.handle('toggle-prefetch-paused');
  assert.deepEqual(t.fake.state.calls.find(([m]) => m === 'setPrefetchPaused'), ['setPrefetchPaused', { paused: true }]);
  assert.equal(labelOf(t.last(), 'toggle-prefetch-paused'), 'Resume prefetch');
  assert.equal(t.last().appearance.state, 'paused');
  await t.controller.handle('toggle-prefetch-paused');
  assert.equal(labelOf(t.last(), 'toggle-prefetch-paused'), 'Pause prefetch');
});

test('an action the build lacks is marked so, and the person is told why', async () => {
  const t = setup();
  await t.controller.attach(t.fake.api);
  t.fake.state.failures.set('syncNow', new NotAvailableError('Sync is not available in this build of Layover'));
  await t.controller.handle('prefetch-now');
  assert.equal(labelOf(t.last(), 'prefetch-now'), 'Prefetch now (not in this build)');
  assert.deepEqual(t.notices.at(-1), { key: 'action:prefetch-now', title: 'Prefetch could not start', body: 'Sync is not available in this build of Layover', page: 'overview' });
});

test('Prefetch now with no enabled rule says so', async () => {
  const t = setup();
  await t.controller.attach(t.fake.api);
  await t.controller.handle('prefetch-now');
  assert.equal(t.notices.at(-1)?.title, 'Nothing to prefetch');
});

test('Start at login: saved in the settings, then applied to the OS; a dashboard change is followed too', async () => {
  const t = setup();
  await t.controller.attach(t.fake.api);
  await t.controller.handle('toggle-start-at-login');
  assert.deepEqual(t.fake.state.calls.find(([m]) => m === 'updateSettings'), ['updateSettings', { startAtLogin: true }]);
  assert.deepEqual(t.loginItem, [false, true]);
  const item = t.last().menu.find((e) => 'action' in e && e.action === 'toggle-start-at-login');
  assert.equal(item?.kind === 'checkbox' && item.checked, true);
  t.controller.onSettings({ ...t.fake.state.settings, startAtLogin: false });
  assert.deepEqual(t.loginItem, [false, true, false]);
  t.controller.onSettings({ ...t.fake.state.settings, startAtLogin: false });
  assert.deepEqual(t.loginItem, [false, true, false], 'applied once per change');
});

test('a failed login item change is told and tried again at the next look', async () => {
  const t = setup();
  let fail = true;
  const applied: boolean[] = [];
  const controller = new TrayController({
    render: () => {}, openDashboard: () => {}, openExternal: async () => {}, copyText: () => {}, quit: () => {}, retryStart: () => {}, log: () => {},
    notify: (notice) => t.notices.push(notice),
    applyStartAtLogin: async (enabled) => {
      applied.push(enabled);
      if (fail) throw new Error('EACCES: permission denied, open \'/home/me/.config/autostart/layover.desktop\'');
    },
    now: () => 0,
    timers: t.clock.timers,
  });
  await controller.attach(t.fake.api);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(t.notices.at(-1)?.title, 'Start at login could not be changed');
  fail = false;
  await controller.refresh();
  assert.deepEqual(applied, [false, false]);
});

test('a core that could not start: problem, the reason, and Start the mirror again', async () => {
  const t = setup();
  await t.controller.attach(t.fake.api, 'mirror address 127.0.0.1:5050 is already in use');
  assert.equal(t.last().appearance.state, 'problem');
  assert.equal(t.last().appearance.statusLine, 'Mirror not running: mirror address 127.0.0.1:5050 is already in use');
  assert.equal(t.fake.state.calls.filter(([m]) => m === 'getDockerStatus').length, 0);
  await t.controller.handle('retry-start');
  assert.equal(t.counts().retries, 1);
});

test('attaching a new API drops the old subscription and poll; stop ends everything', async () => {
  const t = setup();
  await t.controller.attach(t.fake.api);
  const second = fakeApi();
  await t.controller.attach(second.api);
  assert.equal(t.fake.state.listeners.size, 0);
  assert.equal(second.state.listeners.size, 1);
  assert.equal(t.clock.intervals.size, 1);
  t.controller.stop();
  assert.equal(second.state.listeners.size, 0);
  assert.equal(t.clock.intervals.size, 0);
  const drawn = t.views.length;
  second.emit({ type: 'job', job: job('late', 'done') });
  assert.equal(t.views.length, drawn);
});

test('refreshes never overlap: a refresh asked during one runs once after it', async () => {
  const t = setup();
  let release!: () => void;
  let calls = 0;
  const slow = fakeApi();
  (slow.api as unknown as Record<string, unknown>).getStatus = () => {
    calls += 1;
    return new Promise<Status>((resolve) => {
      release = () => resolve(status());
    });
  };
  const first = t.controller.attach(slow.api);
  void t.controller.refresh();
  void t.controller.refresh();
  assert.equal(calls, 1);
  release();
  await first;
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(calls, 2);
  release();
});
