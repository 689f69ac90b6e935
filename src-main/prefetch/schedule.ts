import type { EpochMs, RegistrySettings, Schedule } from '../api/types.js';

/** A nightly window in local time, "19:00" to "07:00"; start = end means all day. */
export type TimeWindow = Extract<Schedule, { kind: 'window' }>;
/** Any daily span of local time: a rule's window, a registry's bandwidth window. */
export type DailyWindow = Pick<TimeWindow, 'start' | 'end'>;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * When a rule runs next; undefined means not on its own (a "now" rule that
 * already ran). A window rule runs once per opening of its window: at once
 * when the window is open and it has not run in it yet, else when it opens.
 */
export function nextRun(schedule: Schedule, lastRun: EpochMs | undefined, now: EpochMs): EpochMs | undefined {
  switch (schedule.kind) {
    case 'now':
      return lastRun === undefined ? now : undefined;
    case 'interval':
      return lastRun === undefined ? now : Math.max(now, lastRun + schedule.hours * HOUR);
    case 'window': {
      const opened = windowOpenedAt(schedule, now);
      if (opened !== undefined && (lastRun === undefined || lastRun < opened)) return now;
      return nextWindowStart(schedule, now);
    }
  }
}

export function inWindow(window: DailyWindow, at: EpochMs): boolean {
  return windowOpenedAt(window, at) !== undefined;
}

/**
 * A registry's bandwidth budget at `at` in bytes per second (0 or undefined:
 * unlimited): the first of its bandwidth windows that covers `at`, else its
 * flat bandwidthLimit. The first listed wins where windows overlap, so the
 * order the Settings page shows is the order that decides, and a short
 * exception can sit above a long window ("unlimited 12:00–13:00" over
 * "2 MiB/s 08:00–18:00").
 */
export function bandwidthLimitAt(registry: Pick<RegistrySettings, 'bandwidthLimit' | 'bandwidthWindows'>, at: EpochMs): number | undefined {
  const window = registry.bandwidthWindows?.find((w) => inWindow(w, at));
  return window ? window.bytesPerSecond : registry.bandwidthLimit;
}

/** When the window now open was opened, or undefined when it is closed at `at`. */
export function windowOpenedAt(window: DailyWindow, at: EpochMs): EpochMs | undefined {
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  const date = new Date(at);
  const minute = date.getHours() * 60 + date.getMinutes();
  const crossesMidnight = start >= end;
  const open = crossesMidnight ? minute >= start || minute < end : minute >= start && minute < end;
  if (!open) return undefined;
  const openedYesterday = crossesMidnight && minute < end && start !== end ? 1 : 0;
  if (start === end && minute < start) return atLocalTime(at, start, -1);
  return atLocalTime(at, start, -openedYesterday);
}

/** The next time the window opens after `at`. */
export function nextWindowStart(window: TimeWindow, at: EpochMs): EpochMs {
  const start = minutesOf(window.start);
  const today = atLocalTime(at, start, 0);
  return today > at ? today : atLocalTime(at, start, 1);
}

/** When the window open at `at` closes. */
export function windowClosesAt(window: TimeWindow, at: EpochMs): EpochMs | undefined {
  const opened = windowOpenedAt(window, at);
  if (opened === undefined) return undefined;
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  return atLocalTime(opened, end, end > start ? 0 : 1);
}

export function describeWindow(window: TimeWindow): string {
  return `${window.start}–${window.end}`;
}

function minutesOf(time: string): number {
  const match = /^(\d{1,2}):(\d{2})$/.exec(time);
  if (!match) throw new Error(`expected a time of day as HH:MM, got "${time}"`);
  return Number(match[1]) * 60 + Number(match[2]);
}

/** `minutes` past local midnight, `days` days from the day of `at` (setDate keeps DST days right). */
function atLocalTime(at: EpochMs, minutes: number, days: number): EpochMs {
  const date = new Date(at);
  date.setDate(date.getDate() + days);
  date.setHours(Math.floor(minutes / 60), minutes % 60, 0, 0);
  return date.getTime();
}
