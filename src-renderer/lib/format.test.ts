import { describe, expect, it } from 'vitest';
import {
  formatBytes, formatDuration, formatExactTime, formatMs, formatRate, formatRatio, formatRelativeTime, formatTimeAgo, parseBytes, shortDigest, splitBytes,
} from './format.js';

describe('formatBytes', () => {
  it('uses binary units with one decimal under 100', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 ** 2)).toBe('5.0 MiB');
    expect(formatBytes(123_456_789)).toBe('118 MiB');
    expect(formatBytes(41.7 * 1024 ** 3)).toBe('41.7 GiB');
    expect(formatBytes(3 * 1024 ** 4)).toBe('3.0 TiB');
  });
  it('never shows 1024 of a unit', () => {
    expect(formatBytes(1024 * 1024 - 1)).toBe('1.0 MiB');
    expect(formatBytes(1024 ** 3 - 10)).toBe('1.0 GiB');
  });
  it('keeps the sign and refuses nonsense', () => {
    expect(formatBytes(-2048)).toBe('-2.0 KiB');
    expect(formatBytes(Number.NaN)).toBe('—');
  });
  it('formats rates', () => {
    expect(formatRate(3.6 * 1024 ** 2)).toBe('3.6 MiB/s');
  });
});

describe('parseBytes and splitBytes', () => {
  it('reads sizes people type', () => {
    expect(parseBytes('10 GiB')).toBe(10 * 1024 ** 3);
    expect(parseBytes('512MiB')).toBe(512 * 1024 ** 2);
    expect(parseBytes('1.5 gib')).toBe(1.5 * 1024 ** 3);
    expect(parseBytes('2048')).toBe(2048);
    expect(parseBytes('10 GB')).toBe(10 * 1024 ** 3);
    expect(parseBytes('ten')).toBeUndefined();
    expect(parseBytes('5 XB')).toBeUndefined();
  });
  it('splits into the largest exact unit', () => {
    expect(splitBytes(80 * 1024 ** 3)).toEqual({ value: 80, unit: 'GiB' });
    expect(splitBytes(2 * 1024 ** 2)).toEqual({ value: 2, unit: 'MiB' });
    expect(splitBytes(1536 * 1024 ** 2)).toEqual({ value: 1536, unit: 'MiB' });
    expect(splitBytes(1000)).toEqual({ value: 1000, unit: 'B' });
  });
});

describe('formatDuration', () => {
  it('shows the two most significant units', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(45)).toBe('45 s');
    expect(formatDuration(60)).toBe('1 min');
    expect(formatDuration(200)).toBe('3 min 20 s');
    expect(formatDuration(8040)).toBe('2 h 14 min');
    expect(formatDuration(7200)).toBe('2 h');
    expect(formatDuration(3 * 86400 + 5 * 3600 + 59)).toBe('3 d 5 h');
  });
  it('does not skip a zero middle unit into a wrong one', () => {
    expect(formatDuration(86400 + 30)).toBe('1 d');
  });
  it('shows fractions of short durations when asked', () => {
    expect(formatDuration(1.25, { precise: true })).toBe('1.3 s');
    expect(formatDuration(0.4, { precise: true })).toBe('400 ms');
    expect(formatMs(92)).toBe('92 ms');
    expect(formatMs(41_200)).toBe('41 s');
    expect(formatMs(2_100)).toBe('2.1 s');
    expect(formatDuration(-1)).toBe('—');
  });
});

describe('relative and exact times', () => {
  const now = Date.UTC(2025, 10, 28, 12, 0, 0);
  it('says how long ago', () => {
    expect(formatRelativeTime(now - 3_000, now)).toBe('just now');
    expect(formatRelativeTime(now - 45_000, now)).toBe('45 s ago');
    expect(formatRelativeTime(now - 3 * 60_000 - 5_000, now)).toBe('3 min ago');
    expect(formatRelativeTime(now - 2 * 3_600_000, now)).toBe('2 h ago');
    expect(formatRelativeTime(now - 30 * 3_600_000, now)).toBe('yesterday');
    expect(formatRelativeTime(now - 4 * 86_400_000, now)).toBe('4 days ago');
  });
  it('says how long until', () => {
    expect(formatRelativeTime(now + 5 * 60_000, now)).toBe('in 5 min');
    expect(formatRelativeTime(now + 2 * 3_600_000, now)).toBe('in 2 h');
    expect(formatRelativeTime(now + 4_000, now)).toBe('in a few seconds');
  });
  it('never puts what already happened in the future, whichever clock is behind', () => {
    expect(formatTimeAgo(now + 4_000, now)).toBe('just now');
    expect(formatTimeAgo(now + 3 * 60_000, now)).toBe('just now');
    expect(formatTimeAgo(now - 45_000, now)).toBe('45 s ago');
    expect(formatTimeAgo(now - 2 * 3_600_000, now)).toBe('2 h ago');
  });
  it('gives the exact local time, sortable', () => {
    const at = new Date(2025, 0, 5, 7, 8, 9).getTime();
    expect(formatExactTime(at)).toBe('2025-01-05 07:08:09');
  });
});

describe('ratios and digests', () => {
  it('formats hit ratios', () => {
    expect(formatRatio(0, 0)).toBe('—');
    expect(formatRatio(1842, 2153)).toBe('86%');
    expect(formatRatio(994, 1000)).toBe('99.4%');
    expect(formatRatio(5, 5)).toBe('100%');
  });
  it('shortens digests', () => {
    expect(shortDigest('sha256:4f1c2d3e5a6b7c8d9e0f')).toBe('4f1c2d3e5a6b');
  });
});
