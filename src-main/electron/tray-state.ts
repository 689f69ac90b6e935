/**
 * What the tray shows: one of five states, a tooltip and a status line, from
 * the core's Status (and Docker's, when known). Pure.
 */
import type { DockerStatus, Status } from '../api/types.js';

export const TRAY_STATES = ['ready', 'syncing', 'offline', 'problem', 'paused'] as const;
export type TrayState = (typeof TRAY_STATES)[number];

export interface TrayInput {
  /** Undefined until the first getStatus answered. */
  status?: Status;
  /** Why the core is not running, when it could not start (port taken, settings invalid). */
  coreError?: string;
  /** Docker's state: Status.docker when the core reports it, else the shell's own getDockerStatus. */
  docker?: DockerStatus;
  /** Prefetch jobs queued, planning or running, as seen in job events. */
  activeJobs: number;
}

export interface TrayAppearance {
  state: TrayState;
  /** One line: the first item of the menu. */
  statusLine: string;
  /** The same line for the icon's tooltip, within Windows's 127 characters. */
  tooltip: string;
}

/** Windows keeps a tray tooltip to 127 characters (NOTIFYICONDATA.szTip). */
export const TOOLTIP_MAX = 127;

export function truncate(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1).trimEnd()}…`;
}

/** Docker runs, and its registry-mirrors does not list Layover: pulls go straight over the slow link. */
export function dockerBypassesLayover(docker: DockerStatus | undefined): boolean {
  return Boolean(docker && docker.available && !docker.usesLayover);
}

/**
 * Precedence: problem (someone must act) > offline (serving from cache) >
 * paused (someone chose it) > syncing (prefetch at work) > ready.
 */
export function trayAppearance(input: TrayInput): TrayAppearance {
  const { state, statusLine } = decide(input);
  return { state, statusLine, tooltip: truncate(`Layover: ${statusLine}`, TOOLTIP_MAX) };
}

function decide({ status, coreError, docker, activeJobs }: TrayInput): { state: TrayState; statusLine: string } {
  if (coreError !== undefined) return { state: 'problem', statusLine: `Mirror not running: ${coreError}` };
  if (!status) return { state: 'ready', statusLine: 'Starting…' };
  if (status.state === 'problem' || status.state === 'stopped') {
    return { state: 'problem', statusLine: status.summary || (status.state === 'stopped' ? 'Mirror stopped' : 'Mirror has a problem') };
  }
  if (status.state === 'starting') return { state: 'ready', statusLine: 'Starting…' };
  const dockerState = docker ?? status.docker;
  if (dockerBypassesLayover(dockerState)) {
    return { state: 'problem', statusLine: 'Docker is not using Layover: pulls go over the slow link' };
  }
  if (status.state === 'offline') return { state: 'offline', statusLine: status.summary || 'Serving from cache: upstream unreachable' };
  if (status.prefetchPaused) return { state: 'paused', statusLine: 'Prefetch paused' };
  const prefetching = status.transfers.filter((transfer) => transfer.kind === 'prefetch');
  if (prefetching.length > 0 || activeJobs > 0) {
    // No transfer rate here: it changes every second, and the menu is rebuilt whenever this line changes.
    const what = activeJobs > 0 ? `${activeJobs} prefetch job${activeJobs === 1 ? '' : 's'}` : `${prefetching.length} prefetch transfer${prefetching.length === 1 ? '' : 's'}`;
    return { state: 'syncing', statusLine: `Syncing: ${what}` };
  }
  return { state: 'ready', statusLine: status.summary || `Mirror ready on ${status.mirrorAddress}` };
}
