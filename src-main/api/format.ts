/**
 * Pure formatting shared by the dashboard, the CLI, notifications and logs:
 * sizes in binary units, durations and relative times. No React, no DOM, no
 * clock: callers pass `now`.
 */

import type { RateLimitStatus } from './types.js';

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** 0 → "0 B", 1536 → "1.5 KiB", 123456789 → "118 MiB". Values under 100 get one decimal. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '—';
  const sign = bytes < 0 ? '-' : '';
  let value = Math.abs(bytes);
  if (value < 1024) return `${sign}${Math.round(value)} B`;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  // 1023.96 KiB would round to "1024 KiB": move up a unit instead.
  if (Math.round(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = value < 100 ? value.toFixed(1) : Math.round(value).toString();
  return `${sign}${text} ${BYTE_UNITS[unit]}`;
}

/** Bytes per second → "2.4 MiB/s". */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

export const BINARY_MULTIPLIERS = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
} as const;
export type ByteUnit = keyof typeof BINARY_MULTIPLIERS;

/**
 * "10 GiB", "512MiB", "1.5 gib", "2048" → bytes. Decimal units (GB, MB) are
 * read as binary ones, which is what people mean when they type them into a
 * cache quota. Returns undefined for anything else.
 */
export function parseBytes(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?\s*$/i.exec(text);
  if (!match) return undefined;
  const value = Number(match[1]);
  const prefix = (match[2] ?? '').toLowerCase();
  const power = ['', 'k', 'm', 'g', 't', 'p'].indexOf(prefix);
  return Math.round(value * 1024 ** power);
}

/** The largest unit that shows `bytes` exactly (or else to 2 decimals), for byte-size inputs. */
export function splitBytes(bytes: number): { value: number; unit: ByteUnit } {
  const units: ByteUnit[] = ['TiB', 'GiB', 'MiB', 'KiB'];
  const exact = units.find((unit) => bytes >= BINARY_MULTIPLIERS[unit] && bytes % BINARY_MULTIPLIERS[unit] === 0);
  if (exact) return { value: bytes / BINARY_MULTIPLIERS[exact], unit: exact };
  const largest = units.find((unit) => bytes >= BINARY_MULTIPLIERS[unit]);
  if (largest) return { value: Math.round((bytes / BINARY_MULTIPLIERS[largest]) * 100) / 100, unit: largest };
  return { value: bytes, unit: 'B' };
}

const DURATION_UNITS: ReadonlyArray<readonly [string, number]> = [
  ['d', 86400],
  ['h', 3600],
  ['min', 60],
  ['s', 1],
];

/**
 * Seconds → the two most significant units: 45 → "45 s", 200 → "3 min 20 s",
 * 8040 → "2 h 14 min", 277200 → "3 d 5 h". Under a second: "0 s"; fractions
 * of a second are shown only below 10 s when asked for (`precise`).
 */
export function formatDuration(seconds: number, options: { precise?: boolean } = {}): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  if (options.precise && seconds < 10 && seconds > 0) {
    return seconds < 1 ? `${Math.round(seconds * 1000)} ms` : `${seconds.toFixed(1)} s`;
  }
  let rest = Math.round(seconds);
  if (rest === 0) return '0 s';
  const first = DURATION_UNITS.findIndex(([, size]) => rest >= size);
  const [name, size] = DURATION_UNITS[first]!;
  const count = Math.floor(rest / size);
  rest -= count * size;
  const parts = [`${count} ${name}`];
  const next = DURATION_UNITS[first + 1];
  if (next && Math.floor(rest / next[1]) > 0) parts.push(`${Math.floor(rest / next[1])} ${next[0]}`);
  return parts.join(' ');
}

/** Milliseconds → "850 ms", "1.2 s", "3 min 5 s". */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return formatDuration(ms / 1000, { precise: true });
}

/**
 * A time relative to `now`: "just now", "45 s ago", "3 min ago", "2 h ago",
 * "yesterday", "4 days ago", and for the future "in 5 min", "in 2 h".
 */
export function formatRelativeTime(at: number, now: number): string {
  const diff = Math.round((now - at) / 1000);
  const future = diff < 0;
  const seconds = Math.abs(diff);
  if (seconds < 10) return future ? 'in a few seconds' : 'just now';
  let text: string;
  if (seconds < 60) text = `${seconds} s`;
  else if (seconds < 3600) text = `${Math.floor(seconds / 60)} min`;
  else if (seconds < 86400) text = `${Math.floor(seconds / 3600)} h`;
  else {
    const days = Math.floor(seconds / 86400);
    if (days === 1) return future ? 'tomorrow' : 'yesterday';
    text = `${days} days`;
  }
  return future ? `in ${text}` : `${text} ago`;
}

/**
 * How long ago something happened (a request, an event, a finished job), for
 * times that are past by nature. Such a time can be ahead of `now` only
 * because the clock that gave `now` is behind the one that stamped `at`: the
 * dashboard's shared clock moves every few seconds, not every millisecond,
 * and a headless core may sit on another machine whose clock runs ahead. Then
 * it happened "just now", never "in a few seconds".
 */
export function formatTimeAgo(at: number, now: number): string {
  return formatRelativeTime(Math.min(at, now), now);
}

const pad = (n: number): string => n.toString().padStart(2, '0');

/** The exact local time, unambiguous and sortable: "2025-11-28 07:08:13". */
export function formatExactTime(at: number): string {
  const d = new Date(at);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** hits / (hits + misses) as "82%", "99.4%", or "—" when nothing was asked yet. */
export function formatRatio(part: number, whole: number): string {
  if (whole <= 0) return '—';
  const percent = (part / whole) * 100;
  if (percent === 100 || percent === 0) return `${percent}%`;
  if (percent > 99 || percent < 1) return `${percent.toFixed(1)}%`;
  return `${Math.round(percent)}%`;
}

/** A digest shortened for display: "sha256:4f1c…9a2b" → "4f1c2d3e5a6b". */
export function shortDigest(digest: string): string {
  const hex = digest.includes(':') ? digest.slice(digest.indexOf(':') + 1) : digest;
  return hex.slice(0, 12);
}

/** "1 tag", "3 tags". */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString('en')} ${count === 1 ? one : many}`;
}

type AttachmentCounts = { signatures: number; attestations: number; sboms: number; other: number; cached: number };

/**
 * What is attached to a tag, in words the dashboard and `layover prefetch`
 * share: "signed, 1 attestation, 1 SBOM (all 4 cached)", "unsigned".
 */
export function describeAttachments(summary: AttachmentCounts): string {
  const details = attachmentDetails(summary);
  return `${summary.signatures > 0 ? 'signed' : 'unsigned'}${details ? `, ${details}` : ''}`;
}

/** The part after signed/unsigned: "2 signatures, 1 SBOM (1 of 3 cached)"; empty when nothing is attached. */
export function attachmentDetails(summary: AttachmentCounts): string {
  const total = summary.signatures + summary.attestations + summary.sboms + summary.other;
  if (total === 0) return '';
  const parts = [
    summary.signatures > 1 ? plural(summary.signatures, 'signature') : '',
    summary.attestations ? plural(summary.attestations, 'attestation') : '',
    summary.sboms ? plural(summary.sboms, 'SBOM') : '',
    summary.other ? `${summary.other.toLocaleString('en')} other` : '',
  ].filter(Boolean);
  const cached = summary.cached === total ? `all ${total} cached` : `${summary.cached} of ${total} cached`;
  return `${parts.join(', ')}${parts.length ? ' ' : ''}(${cached})`;
}

/** A registry's pull limit in a line (Overview, the tray): "14 of 100 pulls left per 6 hours", "limit reached (429)". */
export function describePullLimit(limit: RateLimitStatus): string {
  const window = limit.windowSeconds ? ` per ${formatDuration(limit.windowSeconds)}` : '';
  if (limit.exhausted) return `pull limit reached (429)${limit.limit === undefined ? '' : `: ${limit.limit} pulls${window}`}`;
  return `${limit.remaining} of ${limit.limit} pulls left${window}`;
}

/** "Shared with 3 office peers": the tray's line and the dashboard's, for members answering now. */
export function describeMeshSharing(mesh: { peers: Array<{ state: string }> }): string {
  return `Shared with ${plural(mesh.peers.filter((peer) => peer.state === 'live').length, 'office peer')}`;
}
