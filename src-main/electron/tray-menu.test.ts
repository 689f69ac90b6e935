import { test } from 'node:test';
import assert from 'node:assert/strict';
import { docker, status } from './test-fixtures.js';
import { trayMenuModel, type MenuEntry, type TrayAction, type TrayMenuInput } from './tray-menu.js';
import { trayAppearance } from './tray-state.js';

function menu(overrides: Partial<TrayMenuInput> & { s?: ReturnType<typeof status> } = {}): MenuEntry[] {
  const { s = status(), ...rest } = overrides;
  const coreError = rest.coreError;
  return trayMenuModel({
    appearance: trayAppearance({ status: s, activeJobs: 0, ...(coreError ? { coreError } : {}) }),
    status: s,
    startAtLogin: false,
    unavailable: new Set(),
    busy: new Set(),
    ...rest,
  });
}

const labels = (entries: MenuEntry[]) => entries.map((entry) => (entry.kind === 'separator' ? '—' : entry.label));
const find = (entries: MenuEntry[], action: TrayAction) => entries.find((entry) => 'action' in entry && entry.action === action) as Extract<MenuEntry, { action: TrayAction }>;

test('the menu: a status line, then the issue\'s items in order', () => {
  assert.deepEqual(labels(menu()), [
    'Mirror ready on 127.0.0.1:5050',
    '—',
    'Open dashboard',
    'Prefetch now',
    'Pause prefetch',
    '—',
    'Configure Docker…',
    'Copy mirror address (127.0.0.1:5050)',
    'Run demo',
    '—',
    'Start at login',
    '—',
    'Quit Layover',
  ]);
  const first = menu()[0]!;
  assert.equal(first.kind, 'status', 'the status line is not clickable');
});

test('with the admin listener running, "Open dashboard in browser" follows "Open dashboard"; never while the mirror is down', () => {
  assert.deepEqual(labels(menu({ browserDashboard: true })).slice(2, 5), ['Open dashboard', 'Open dashboard in browser', 'Prefetch now']);
  assert.deepEqual(find(menu({ browserDashboard: true }), 'open-dashboard-in-browser'), { kind: 'action', action: 'open-dashboard-in-browser', label: 'Open dashboard in browser', enabled: true });
  assert.equal(find(menu({ browserDashboard: false }), 'open-dashboard-in-browser'), undefined);
  assert.equal(find(menu(), 'open-dashboard-in-browser'), undefined, 'off unless the shell says the listener runs');
  assert.equal(find(menu({ browserDashboard: true, coreError: 'port in use' }), 'open-dashboard-in-browser'), undefined);
});

test('Pause becomes Resume while prefetch is paused', () => {
  assert.equal(find(menu({ s: status({ prefetchPaused: true }) }), 'toggle-prefetch-paused').label, 'Resume prefetch');
});

test('Docker: a check mark when Docker uses Layover, else Configure Docker…', () => {
  assert.equal(find(menu({ docker: docker(true) }), 'configure-docker').label, 'Docker: using Layover ✓');
  assert.equal(find(menu({ docker: docker(false) }), 'configure-docker').label, 'Configure Docker…');
  assert.equal(find(menu({ s: status({ docker: docker(true) }) }), 'configure-docker').label, 'Docker: using Layover ✓', 'from Status.docker');
});

test('Start at login is a checkbox showing the setting, disabled until the settings are read', () => {
  const on = find(menu({ startAtLogin: true }), 'toggle-start-at-login');
  assert.deepEqual(on, { kind: 'checkbox', action: 'toggle-start-at-login', label: 'Start at login', checked: true, enabled: true });
  const unknown = trayMenuModel({ appearance: trayAppearance({ status: status(), activeJobs: 0 }), status: status(), unavailable: new Set(), busy: new Set() });
  assert.equal(find(unknown, 'toggle-start-at-login').enabled, false);
});

test('when the mirror is not running: prefetch and copy are disabled, and it can be started again', () => {
  const entries = menu({ coreError: 'mirror address 127.0.0.1:5050 is already in use' });
  assert.match(entries[0]!.kind === 'status' ? entries[0]!.label : '', /^Mirror not running: mirror address/);
  assert.equal(find(entries, 'prefetch-now').enabled, false);
  assert.equal(find(entries, 'toggle-prefetch-paused').enabled, false);
  assert.equal(find(entries, 'copy-mirror-address').enabled, false);
  assert.equal(find(entries, 'open-dashboard').enabled, true);
  assert.equal(find(entries, 'retry-start').label, 'Start the mirror again');
  assert.equal(find(menu(), 'retry-start'), undefined);
});

test('an action this build lacks says so and is disabled; a busy action is disabled until it settles', () => {
  const entries = menu({ unavailable: new Set<TrayAction>(['prefetch-now']), busy: new Set<TrayAction>(['toggle-start-at-login']) });
  assert.deepEqual([find(entries, 'prefetch-now').label, find(entries, 'prefetch-now').enabled], ['Prefetch now (not in this build)', false]);
  assert.equal(find(entries, 'toggle-start-at-login').enabled, false);
  assert.equal(find(entries, 'toggle-prefetch-paused').enabled, true);
});

test('before the first status: only what needs no status is enabled', () => {
  const entries = trayMenuModel({ appearance: trayAppearance({ activeJobs: 0 }), unavailable: new Set(), busy: new Set() });
  assert.equal(entries[0]!.kind === 'status' && entries[0]!.label, 'Starting…');
  assert.equal(find(entries, 'copy-mirror-address').label, 'Copy mirror address');
  assert.equal(find(entries, 'copy-mirror-address').enabled, false);
  assert.equal(find(entries, 'prefetch-now').enabled, false);
  assert.equal(find(entries, 'quit').enabled, true);
});

test('a long status line is cut in the menu', () => {
  const entries = menu({ coreError: 'x'.repeat(200) });
  const line = entries[0]!.kind === 'status' ? entries[0]!.label : '';
  assert.ok(line.length <= 64);
  assert.ok(line.endsWith('…'));
});

test('Run demo: enabled while the mirror runs; while a demo runs it shows that one instead', () => {
  assert.deepEqual(find(menu(), 'run-demo'), { kind: 'action', action: 'run-demo', label: 'Run demo', enabled: true });
  assert.equal(find(menu({ coreError: 'port in use' }), 'run-demo').enabled, false, 'the demo runs in the core: none without it');
  assert.equal(find(menu({ busy: new Set<TrayAction>(['run-demo']) }), 'run-demo').enabled, false);
  assert.deepEqual(find(menu({ unavailable: new Set<TrayAction>(['run-demo']) }), 'run-demo').label, 'Run demo (not in this build)');
  assert.deepEqual(find(menu({ demoRunning: true }), 'run-demo'), { kind: 'action', action: 'run-demo', label: 'Show the running demo', enabled: true });
});

test('in an office mesh, a status line says how many office peers share with this laptop', () => {
  const peer = (state: 'live' | 'down' | 'dropped') => ({ address: `10.0.0.${state.length}:5052`, found: 'mdns' as const, state, since: 0, bytesReceived: 0, bytesSent: 0 });
  const mesh = { officeId: 'office', member: 'me', listen: [], discovery: true, peers: [peer('live'), peer('live'), peer('down'), peer('dropped')], bytesReceivedFromPeers: 0, bytesSentToPeers: 0, peerErrors: 0, wanBytesSaved: 0, refused: 0, questionsAnswered: 0 };
  const entries = menu({ s: { ...status(), mesh } });
  assert.deepEqual(entries[1], { kind: 'status', label: 'Shared with 2 office peers' });
  assert.equal(labels(menu()).some((label) => label.startsWith('Shared with')), false, 'no line before joining a mesh');
});
