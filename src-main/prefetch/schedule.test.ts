import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inWindow, nextRun, windowClosesAt, type TimeWindow } from './schedule.js';

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
