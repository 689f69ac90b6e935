import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RegistrySettings } from '../api/types.js';
import { BandwidthBudget, type Timing } from '../core/upstream/bandwidth.js';
import { bandwidthLimitAt, inWindow, nextRun, windowClosesAt, type TimeWindow } from './schedule.js';

/** Local wall-clock times, so the test holds in any time zone. */
const at = (day: number, hour: number, minute = 0) => new Date(2026, 0, day, hour, minute).getTime();
const NIGHT: TimeWindow = { kind: 'window', start: '19:00', end: '07:00' };

test('now runs once; interval runs every N hours after the last run', () => {
  assert.equal(nextRun({ kind: 'now' }, undefined, at(10, 12)), at(10, 12));
  assert.equal(nextRun({ kind: 'now' }, at(10, 12), at(10, 13)), undefined);
  assert.equal(nextRun({ kind: 'interval', hours: 6 }, undefined, at(10, 12)), at(10, 12));
  assert.equal(nextRun({ kind: 'interval', hours: 6 }, at(10, 12), at(10, 13)), at(10, 18));
  assert.equal(nextRun({ kind: 'interval', hours: 6 }, at(10, 1), at(10, 13)), at(10, 13), 'overdue: now');
});

test('a nightly window across midnight: open, closed, once per night', () => {
  assert.ok(inWindow(NIGHT, at(10, 19)));
  assert.ok(inWindow(NIGHT, at(10, 23, 59)));
  assert.ok(inWindow(NIGHT, at(11, 6, 59)));
  assert.ok(!inWindow(NIGHT, at(11, 7)));
  assert.ok(!inWindow(NIGHT, at(11, 12)));
  assert.equal(nextRun(NIGHT, undefined, at(10, 12)), at(10, 19), 'closed: when it opens');
  assert.equal(nextRun(NIGHT, undefined, at(11, 2)), at(11, 2), 'open and never ran: now');
  assert.equal(nextRun(NIGHT, at(10, 19, 5), at(11, 2)), at(11, 19), 'already ran tonight: tomorrow night');
  assert.equal(nextRun(NIGHT, at(9, 20), at(10, 21)), at(10, 21), 'ran last night, not tonight: now');
  assert.equal(windowClosesAt(NIGHT, at(10, 22)), at(11, 7));
  assert.equal(windowClosesAt(NIGHT, at(11, 3)), at(11, 7));
  assert.equal(windowClosesAt(NIGHT, at(11, 8)), undefined);
});

test('a daytime window and an all-day window', () => {
  const lunch: TimeWindow = { kind: 'window', start: '12:00', end: '13:30' };
  assert.ok(inWindow(lunch, at(10, 12, 45)));
  assert.ok(!inWindow(lunch, at(10, 13, 30)));
  assert.equal(nextRun(lunch, undefined, at(10, 14)), at(11, 12));
  const always: TimeWindow = { kind: 'window', start: '00:00', end: '00:00' };
  assert.ok(inWindow(always, at(10, 5)));
  assert.equal(windowClosesAt(always, at(10, 5)), at(11, 0));
});

const KiB = 1024;
const MiB = 1024 * KiB;
/** 2 MiB/s from 08:00 to 18:00, unlimited from 22:00 to 06:00, a flat 1 MiB/s in between. */
const OFFICE: Pick<RegistrySettings, 'bandwidthLimit' | 'bandwidthWindows'> = {
  bandwidthLimit: MiB,
  bandwidthWindows: [
    { start: '08:00', end: '18:00', bytesPerSecond: 2 * MiB },
    { start: '22:00', end: '06:00', bytesPerSecond: 0 },
  ],
};

test('bandwidth windows: the window covering the time applies, else the flat limit', () => {
  assert.equal(bandwidthLimitAt(OFFICE, at(10, 8)), 2 * MiB, 'opens at its start');
  assert.equal(bandwidthLimitAt(OFFICE, at(10, 17, 59)), 2 * MiB);
  assert.equal(bandwidthLimitAt(OFFICE, at(10, 18)), MiB, 'closed at its end: the flat limit');
  assert.equal(bandwidthLimitAt(OFFICE, at(10, 7, 59)), MiB);
  assert.equal(bandwidthLimitAt({ bandwidthLimit: 3 * MiB }, at(10, 12)), 3 * MiB, 'no windows: the flat limit');
  assert.equal(bandwidthLimitAt({ bandwidthWindows: OFFICE.bandwidthWindows! }, at(10, 19)), undefined, 'no window and no flat limit: unlimited');
});

test('bandwidth windows across midnight, and 0 for unlimited inside one', () => {
  assert.equal(bandwidthLimitAt(OFFICE, at(10, 22)), 0, 'opens the evening before');
  assert.equal(bandwidthLimitAt(OFFICE, at(10, 23, 59)), 0);
  assert.equal(bandwidthLimitAt(OFFICE, at(11, 0)), 0);
  assert.equal(bandwidthLimitAt(OFFICE, at(11, 5, 59)), 0, 'still open after midnight');
  assert.equal(bandwidthLimitAt(OFFICE, at(11, 6)), MiB, 'closes in the morning');
  assert.equal(bandwidthLimitAt(OFFICE, at(10, 21, 59)), MiB);
});

test('overlapping bandwidth windows: the first listed wins', () => {
  const lunch = { start: '12:00', end: '13:00', bytesPerSecond: 0 };
  const day = { start: '08:00', end: '18:00', bytesPerSecond: 2 * MiB };
  assert.equal(bandwidthLimitAt({ bandwidthWindows: [lunch, day] }, at(10, 12, 30)), 0, 'the exception listed first');
  assert.equal(bandwidthLimitAt({ bandwidthWindows: [lunch, day] }, at(10, 13)), 2 * MiB);
  assert.equal(bandwidthLimitAt({ bandwidthWindows: [day, lunch] }, at(10, 12, 30)), 2 * MiB, 'listed second, it never applies');
});

/** A clock on local wall-clock time that only moves when someone sleeps, shared by the budget and the windows. */
function virtualWallClock(start: number): Timing & { set(at: number): void } {
  let now = start;
  return {
    now: () => now,
    set: (value) => {
      now = value;
    },
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      now += ms;
      await Promise.resolve();
    },
  };
}

test('the bandwidth budget follows the window: unlimited at night, capped from 08:00, unlimited again at 18:00', async () => {
  const registry = { bandwidthWindows: [{ start: '08:00', end: '18:00', bytesPerSecond: 100 * KiB }] };
  const timing = virtualWallClock(at(10, 7, 59));
  const budget = new BandwidthBudget({ limitOf: () => bandwidthLimitAt(registry, timing.now()), timing });
  const prefetch = async (chunks: number): Promise<number> => {
    const before = timing.now();
    await budget.runPrefetch({ registry: 'dtr.example.com' }, async () => {
      for (let i = 0; i < chunks; i++) await budget.pace(32 * KiB, 'prefetch');
    });
    return (timing.now() - before) / 1000;
  };

  assert.equal(await prefetch(100), 0, 'before 08:00: 3.1 MiB without a wait');
  timing.set(at(10, 8));
  // 1280 KiB at 100 KiB/s: the first 64 KiB (the burst) free, the last chunk taken on credit.
  const capped = await prefetch(40);
  const expected = (40 * 32 - 64 - 32) / 100;
  assert.ok(Math.abs(capped - expected) < 0.05, `inside the window it took ${capped} s, expected about ${expected} s`);
  timing.set(at(10, 18));
  assert.equal(await prefetch(100), 0, 'from 18:00: no wait again');
});
