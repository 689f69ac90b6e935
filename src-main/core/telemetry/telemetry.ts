import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { ActivityEvent, CacheCounters, RequestRecord, TransferStatus } from '../../api/types.js';
import { ProbeLog } from './pull-probes.js';

const RECENT_REQUESTS = 200;
const RECENT_EVENTS = 100;
/** Stale answers of one registry are explained in the activity at most this often. */
const STALE_NOTE_INTERVAL_MS = 60_000;
/** Transfer progress events are for eyes: a few per second is plenty. */
const TRANSFER_EVENT_INTERVAL_MS = 250;

export interface TelemetryEvents {
  request: [RequestRecord];
  transfer: [TransferStatus, boolean];
  activity: [ActivityEvent];
}

/** A transfer in progress, as the fetcher reports it. */
export class TransferTracker {
  private lastEmit = 0;
  /** Bytes of this transfer that crossed the link to the upstream (not those a LAN peer or a bundle gave). */
  upstreamBytes = 0;

  constructor(private readonly telemetry: Telemetry, readonly status: TransferStatus) {}

  /** Counts bytes that came from the upstream, so peers' and bundles' bytes never read as WAN traffic. */
  countUpstream(bytes: number): void {
    this.upstreamBytes += bytes;
  }

  progress(bytesDone: number): void {
    this.status.bytesDone = bytesDone;
    const elapsedSeconds = (Date.now() - this.status.startedAt) / 1000;
    this.status.bytesPerSecond = elapsedSeconds > 0 ? Math.round(bytesDone / elapsedSeconds) : 0;
    const now = Date.now();
    if (now - this.lastEmit >= TRANSFER_EVENT_INTERVAL_MS) {
      this.lastEmit = now;
      this.telemetry.emit('transfer', { ...this.status }, false);
    }
  }

  /** Ends the transfer; successful bytes feed the measured upstream rate. */
  finish(succeeded: boolean): void {
    this.telemetry.endTransfer(this, succeeded, (Date.now() - this.status.startedAt) / 1000);
  }
}

/**
 * Counters, live transfers, recent requests and events: what the dashboard,
 * /metrics and the tray show. Emits 'request', 'transfer' and 'activity'.
 */
export class Telemetry extends EventEmitter<TelemetryEvents> {
  readonly counters = { hits: 0, misses: 0, bytesServedFromCache: 0, bytesFetchedUpstream: 0, upstreamErrors: 0 };
  /** Pull probes that reached the mirror: the proof that a runtime's pulls arrive (pull-probes.ts). */
  readonly probes = new ProbeLog();
  private readonly transfers = new Map<string, TransferTracker>();
  private readonly requests: RequestRecord[] = [];
  private readonly events: ActivityEvent[] = [];
  private upstreamSeconds = 0;
  private upstreamBytesTimed = 0;
  /** digest → the host its last upstream transfer came from, for the requests that fetched it (bounded like the request list). */
  private readonly servedBy = new Map<string, string>();
  private readonly staleNotedAt = new Map<string, number>();

  constructor() {
    super();
    this.setMaxListeners(0);
  }

  startTransfer(fields: Omit<TransferStatus, 'id' | 'bytesDone' | 'bytesPerSecond' | 'startedAt'>): TransferTracker {
    const tracker = new TransferTracker(this, { ...fields, id: randomUUID(), bytesDone: 0, bytesPerSecond: 0, startedAt: Date.now() });
    this.transfers.set(tracker.status.id, tracker);
    if (fields.servedBy) {
      this.servedBy.delete(fields.digest);
      this.servedBy.set(fields.digest, fields.servedBy);
      if (this.servedBy.size > RECENT_REQUESTS) this.servedBy.delete(this.servedBy.keys().next().value!);
    }
    this.emit('transfer', { ...tracker.status }, false);
    return tracker;
  }

  endTransfer(tracker: TransferTracker, succeeded: boolean, seconds: number): void {
    this.transfers.delete(tracker.status.id);
    this.counters.bytesFetchedUpstream += tracker.upstreamBytes;
    if (succeeded && tracker.upstreamBytes > 0) {
      this.upstreamBytesTimed += tracker.upstreamBytes;
      this.upstreamSeconds += seconds;
    } else {
      this.counters.upstreamErrors += 1;
    }
    this.emit('transfer', { ...tracker.status }, true);
  }

  activeTransfers(): TransferStatus[] {
    return [...this.transfers.values()].map((tracker) => ({ ...tracker.status }));
  }

  recordRequest(record: Omit<RequestRecord, 'id'>): void {
    const servedBy = record.kind === 'blob' && record.cache === 'miss' && record.reference ? this.servedBy.get(record.reference) : undefined;
    const full = { ...record, ...(servedBy && !record.servedBy ? { servedBy } : {}), id: randomUUID() };
    if (record.cache === 'stale' && record.staleReason) this.noteStale(record);
    if (record.cache === 'hit' || record.cache === 'stale' || record.cache === 'revalidated') {
      this.counters.hits += 1;
      this.counters.bytesServedFromCache += record.bytes;
    } else if (record.cache === 'miss') {
      this.counters.misses += 1;
    }
    // A stale answer or a 502/503 means the upstream failed this request (transfers cut mid-body count in endTransfer).
    if (record.cache === 'stale' || record.status === 502 || record.status === 503) this.counters.upstreamErrors += 1;
    pushBounded(this.requests, full, RECENT_REQUESTS);
    this.emit('request', full);
  }

  note(level: ActivityEvent['level'], message: string, registry?: string): void {
    const event: ActivityEvent = { at: Date.now(), level, message, ...(registry ? { registry } : {}) };
    pushBounded(this.events, event, RECENT_EVENTS);
    this.emit('activity', event);
  }

  /** Says in the activity why cached tags are being served stale: once a minute per registry, not once per pull. */
  private noteStale(record: Omit<RequestRecord, 'id'>): void {
    const last = this.staleNotedAt.get(record.registry) ?? 0;
    if (record.at - last < STALE_NOTE_INTERVAL_MS) return;
    this.staleNotedAt.set(record.registry, record.at);
    const what = `${record.repository ?? ''}${record.reference ? `:${record.reference}` : ''}`;
    this.note('warning', `Served ${what} from the cache without checking ${record.registry}: ${record.staleReason}`, record.registry);
  }

  recentRequests(): RequestRecord[] {
    return [...this.requests].reverse();
  }

  recentEvents(): ActivityEvent[] {
    return [...this.events].reverse();
  }

  /** The upstream rate measured so far; the time saved is what the hits would have cost at that rate. */
  snapshot(): CacheCounters {
    const rate = this.upstreamSeconds > 0 ? this.upstreamBytesTimed / this.upstreamSeconds : 0;
    return {
      ...this.counters,
      upstreamBytesPerSecond: Math.round(rate),
      secondsSaved: rate > 0 ? this.counters.bytesServedFromCache / rate : 0,
    };
  }
}

function pushBounded<T>(list: T[], item: T, limit: number): void {
  list.push(item);
  if (list.length > limit) list.splice(0, list.length - limit);
}
