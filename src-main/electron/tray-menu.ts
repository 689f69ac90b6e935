/**
 * The tray menu as data, from the tray's appearance and what the shell knows.
 * tray.ts turns it into an Electron Menu; each action id maps to one handler.
 * Pure, and rebuilt whenever any input changes.
 */
import type { DockerStatus, Status } from '../api/types.js';
import { truncate, type TrayAppearance } from './tray-state.js';
import { describeMeshSharing, describePullLimit } from '../api/format.js';

export type TrayAction =
  | 'open-dashboard'
  | 'open-dashboard-in-browser'
  | 'prefetch-now'
  | 'toggle-prefetch-paused'
  | 'configure-docker'
  | 'copy-mirror-address'
  | 'run-demo'
  | 'toggle-start-at-login'
  | 'retry-start'
  | 'quit';

export type MenuEntry =
  | { kind: 'status'; label: string }
  | { kind: 'separator' }
  | { kind: 'action'; action: TrayAction; label: string; enabled: boolean }
  | { kind: 'checkbox'; action: TrayAction; label: string; checked: boolean; enabled: boolean };

export interface TrayMenuInput {
  appearance: TrayAppearance;
  status?: Status;
  docker?: DockerStatus;
  /** Settings' startAtLogin, once the settings were read. */
  startAtLogin?: boolean;
  /** The core could not start: offer to try again. */
  coreError?: string;
  /** Actions the running build answered NOT_AVAILABLE to (prefetch, pause before the prefetch room lands). */
  unavailable: ReadonlySet<TrayAction>;
  /** An action in flight: its item is disabled until it settles. */
  busy: ReadonlySet<TrayAction>;
  /** A demo runs (from the tray, the dashboard or the CLI): the item then shows it instead of starting another. */
  demoRunning?: boolean;
  /** The admin listener runs (setting browserDashboard): the dashboard can be opened in a browser too. */
  browserDashboard?: boolean;
}

/** Menu labels stay short; the whole line is in the tooltip. */
export const STATUS_LINE_MAX = 64;

/** A registry whose pull limit is nearly spent or reached gets a line of its own, before it bites. */
function pullLimitLines(status: Status | undefined): MenuEntry[] {
  return (status?.registries ?? []).flatMap((registry) => {
    const limit = registry.endpoints.map((endpoint) => endpoint.rateLimit).find((l) => l && (l.low || l.exhausted));
    return limit ? [{ kind: 'status', label: truncate(`${registry.name}: ${describePullLimit(limit)}`, STATUS_LINE_MAX) } satisfies MenuEntry] : [];
  });
}

export function trayMenuModel(input: TrayMenuInput): MenuEntry[] {
  const { appearance, status, coreError, unavailable, busy } = input;
  const running = status !== undefined && coreError === undefined;
  const docker = input.docker ?? status?.docker;
  const can = (action: TrayAction, also = true) => also && !unavailable.has(action) && !busy.has(action);
  const notInBuild = (action: TrayAction, label: string) => (unavailable.has(action) ? `${label} (not in this build)` : label);

  const entries: MenuEntry[] = [
    { kind: 'status', label: truncate(appearance.statusLine, STATUS_LINE_MAX) },
    ...pullLimitLines(status),
    ...(status?.mesh ? [{ kind: 'status', label: describeMeshSharing(status.mesh) } satisfies MenuEntry] : []),
    { kind: 'separator' },
    { kind: 'action', action: 'open-dashboard', label: 'Open dashboard', enabled: true },
    // Only while the admin listener runs: without it there is no browser dashboard to open.
    ...(input.browserDashboard && running
      ? [{ kind: 'action', action: 'open-dashboard-in-browser', label: 'Open dashboard in browser', enabled: can('open-dashboard-in-browser') } satisfies MenuEntry]
      : []),
    { kind: 'action', action: 'prefetch-now', label: notInBuild('prefetch-now', 'Prefetch now'), enabled: can('prefetch-now', running) },
    {
      kind: 'action',
      action: 'toggle-prefetch-paused',
      label: notInBuild('toggle-prefetch-paused', status?.prefetchPaused ? 'Resume prefetch' : 'Pause prefetch'),
      enabled: can('toggle-prefetch-paused', running),
    },
    { kind: 'separator' },
    docker?.usesLayover
      ? { kind: 'action', action: 'configure-docker', label: 'Docker: using Layover ✓', enabled: true }
      : { kind: 'action', action: 'configure-docker', label: 'Configure Docker…', enabled: true },
    {
      kind: 'action',
      action: 'copy-mirror-address',
      label: status ? `Copy mirror address (${status.mirrorAddress})` : 'Copy mirror address',
      enabled: running,
    },
    input.demoRunning
      ? { kind: 'action', action: 'run-demo', label: 'Show the running demo', enabled: true }
      : { kind: 'action', action: 'run-demo', label: notInBuild('run-demo', 'Run demo'), enabled: can('run-demo', running) },
    { kind: 'separator' },
    {
      kind: 'checkbox',
      action: 'toggle-start-at-login',
      label: 'Start at login',
      checked: input.startAtLogin ?? false,
      enabled: can('toggle-start-at-login', input.startAtLogin !== undefined),
    },
    { kind: 'separator' },
  ];
  if (coreError !== undefined) {
    entries.push({ kind: 'action', action: 'retry-start', label: 'Start the mirror again', enabled: can('retry-start') });
  }
  entries.push({ kind: 'action', action: 'quit', label: 'Quit Layover', enabled: true });
  return entries;
}
