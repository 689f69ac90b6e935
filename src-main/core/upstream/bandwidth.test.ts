import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BandwidthBudget, TokenBucket, type Timing } from './bandwidth.js';

/** A clock that only moves when someone sleeps: rates are checked exactly, with no wall-clock waits. */
function virtualTiming(): Timing & { advance(ms: number): void } {
  let now = 0;
  return {
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      now += ms;
      await Promise.resolve();
      signal?.throwIfAborted();
    },
  };
}

const KiB = 1024;

test('a bucket lets through its rate over time, plus one burst', async () => {
  const timing = virtualTiming();
  const bucket = new TokenBucket(100 * KiB, timing);
  for (let i = 0; i < 40; i++) await bucket.take(32 * KiB);
  // 1280 KiB at 100 KiB/s, the first 64 KiB (the burst) free, the last chunk taken on credit.
  const seconds = timing.now() / 1000;
  const expected = (40 * 32 - 64 - 32) / 100;
  assert.ok(Math.abs(seconds - expected) < 0.05, `took ${seconds} s, expected about ${expected} s`);
});

test('a chunk larger than the burst is taken whole and paid for afterwards', async () => {
  const timing = virtualTiming();
  const bucket = new TokenBucket(10 * KiB, timing);
  await bucket.take(1024 * KiB);
  assert.equal(timing.now(), 0, 'the first chunk goes on credit');
  await bucket.take(1);
  assert.ok(Math.abs(timing.now() - 96_000) <= 1, `the debt of 960 KiB at 10 KiB/s is waited off (${timing.now()} ms)`);
});

test('spent bytes (pulls) delay later takers; a rate change applies at once', async () => {
  const timing = virtualTiming();
  const bucket = new TokenBucket(100 * KiB, timing);
  bucket.spend(64 * KiB + 100 * KiB);
  await bucket.take(1);
  assert.ok(Math.abs(timing.now() - 1000) <= 1);
  bucket.setRate(200 * KiB);
  bucket.spend(200 * KiB);
  const before = timing.now();
  await bucket.take(1);
  assert.ok(Math.abs(timing.now() - before - 1000) <= 1);
});

test('an aborted taker stops waiting and does not block the next one', async () => {
  const timing = virtualTiming();
  const bucket = new TokenBucket(KiB, timing);
  bucket.spend(1024 * KiB);
  const controller = new AbortController();
  controller.abort(new Error('job paused'));
  await assert.rejects(bucket.take(1, controller.signal), /job paused/);
  assert.equal(timing.now(), 0);
});

test('rates below 1 or not numbers are refused with a reason', () => {
  assert.throws(() => new TokenBucket(0), /positive number of bytes per second/);
  assert.throws(() => new TokenBucket(Number.NaN), /positive number/);
});

test('prefetch yields while a pull runs, with a keep-alive chunk; pulls never wait', async () => {
  const timing = virtualTiming();
  const budget = new BandwidthBudget({ limitOf: () => 100 * KiB, timing, pullHoldoffMs: 1000, keepAliveMs: 5000 });
  budget.notePullTransfer('hub', 't1', false);
  const started = timing.now();
  await budget.pace(64 * KiB, 'pull');
  assert.equal(timing.now(), started, 'pull chunks pass at once');
  let passed = 0;
  await budget.runPrefetch({ registry: 'hub', onBytes: (n) => (passed += n) }, async () => {
    await budget.pace(KiB, 'prefetch'); // first chunk: the keep-alive allowance
    const before = timing.now();
    const second = budget.pace(KiB, 'prefetch');
    await Promise.resolve();
    budget.notePullTransfer('hub', 't1', true);
    await second;
    const waited = timing.now() - before;
    assert.ok(waited >= 1000, `waited ${waited} ms: until the pull ended and the hold-off passed`);
  });
  assert.equal(passed, 2 * KiB);
});

test('a pull on one registry does not hold back prefetch from another', async () => {
  const timing = virtualTiming();
  const budget = new BandwidthBudget({ limitOf: () => undefined, timing });
  budget.notePullTransfer('dtr.example.com', 't1', false);
  await budget.runPrefetch({ registry: 'docker.io' }, async () => {
    await budget.pace(KiB, 'prefetch');
    await budget.pace(KiB, 'prefetch');
  });
  assert.equal(timing.now(), 0);
});

test('a prefetch transfer stops at its next chunk once its job is paused', async () => {
  const budget = new BandwidthBudget({ limitOf: () => undefined, timing: virtualTiming() });
  const controller = new AbortController();
  await budget.runPrefetch({ registry: 'hub', signal: controller.signal }, async () => {
    await budget.pace(KiB, 'prefetch');
    controller.abort(new Error('job paused'));
    await assert.rejects(budget.pace(KiB, 'prefetch'), /job paused/);
    await budget.pace(KiB, 'pull'); // a client joined: its bytes are no longer the job's to stop
  });
});

test('the job cap and the registry budget both hold; the slower one wins', async () => {
  const timing = virtualTiming();
  const budget = new BandwidthBudget({ limitOf: () => 200 * KiB, timing });
  const cap = new TokenBucket(50 * KiB, timing);
  await budget.runPrefetch({ registry: 'hub', cap }, async () => {
    for (let i = 0; i < 20; i++) await budget.pace(16 * KiB, 'prefetch');
  });
  const expected = (20 * 16 - 64 - 16) / 50;
  assert.ok(Math.abs(timing.now() / 1000 - expected) < 0.05, `${timing.now()} ms`);
});

test('an interruptible prefetch transfer stops at once for a pull, and can wait for the pull to end', async () => {
  const timing = virtualTiming();
  const budget = new BandwidthBudget({ limitOf: () => undefined, timing, pullHoldoffMs: 1000 });
  budget.notePullTransfer('hub', 't1', false);
  await budget.runPrefetch({ registry: 'hub', interruptible: true }, async () => {
    await assert.rejects(budget.pace(KiB, 'prefetch'), (error: Error) => error.name === 'YieldToPull');
  });
  const waiting = budget.whenPullsEnd('hub');
  budget.notePullTransfer('hub', 't1', true);
  await waiting;
  assert.ok(timing.now() >= 1000, 'after the hold-off');
  await budget.runPrefetch({ registry: 'hub', interruptible: true }, () => budget.pace(KiB, 'prefetch'));
});
