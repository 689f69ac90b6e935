import { Counter, Gauge, Registry } from 'prom-client';
import type { Telemetry } from './telemetry.js';

/** Prometheus metrics read from the telemetry at scrape time, in a registry of this instance's own. */
export function createMetricsRegistry(telemetry: Telemetry, usage: () => { bytesUsed: number; blobs: number }): Registry {
  const registry = new Registry();
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(read()); } });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });

  counter('layover_cache_hits_total', 'Requests answered from the cache.', () => telemetry.counters.hits);
  counter('layover_cache_misses_total', 'Requests that needed the upstream.', () => telemetry.counters.misses);
  counter('layover_bytes_served_from_cache_total', 'Bytes sent to clients from the cache.', () => telemetry.counters.bytesServedFromCache);
  counter('layover_bytes_fetched_upstream_total', 'Bytes received from upstream registries.', () => telemetry.counters.bytesFetchedUpstream);
  counter('layover_upstream_errors_total', 'Upstream requests or transfers that failed.', () => telemetry.counters.upstreamErrors);
  gauge('layover_active_transfers', 'Upstream transfers in progress.', () => telemetry.activeTransfers().length);
  gauge('layover_cache_bytes', 'Bytes held in the blob store.', () => usage().bytesUsed);
  gauge('layover_cache_blobs', 'Blobs held in the blob store.', () => usage().blobs);
  return registry;
}
