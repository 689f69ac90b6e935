import { Counter, Gauge, Registry } from 'prom-client';
import type { MeshStatus, RegistryStatus } from '../../api/types.js';
import type { Telemetry } from './telemetry.js';

/** Prometheus metrics read from the telemetry at scrape time, in a registry of this instance's own. */
export function createMetricsRegistry(telemetry: Telemetry, usage: () => { bytesUsed: number; blobs: number }, registries: () => RegistryStatus[] = () => [], mesh: () => MeshStatus | undefined = () => undefined): Registry {
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
  endpointGauges(registry, registries);
  counter('layover_peer_bytes_received_total', 'Blob bytes received from office mesh peers (verified like any other).', () => mesh()?.bytesReceivedFromPeers ?? 0);
  counter('layover_peer_bytes_sent_total', 'Blob bytes sent to office mesh peers.', () => mesh()?.bytesSentToPeers ?? 0);
  counter('layover_peer_errors_total', 'Office mesh peers that failed, vanished mid-transfer or sent wrong bytes.', () => mesh()?.peerErrors ?? 0);
  gauge('layover_peers', 'Office mesh members answering now.', () => mesh()?.peers.filter((peer) => peer.state === 'live').length ?? 0);
  return registry;
}

/**
 * Per endpoint: the pull limit it states (Docker Hub's ratelimit-* headers) and the throughput measured from
 * its real transfers. Series appear once there is a figure: no made-up zeros for an endpoint never asked.
 */
function endpointGauges(registry: Registry, registries: () => RegistryStatus[]): void {
  const labelNames = ['registry', 'endpoint'] as const;
  const perEndpoint = (name: string, help: string, read: (endpoint: RegistryStatus['endpoints'][number]) => number | undefined) =>
    new Gauge({
      name, help, labelNames, registers: [registry],
      collect() {
        this.reset();
        for (const { name: registryName, endpoints } of registries()) {
          for (const endpoint of endpoints) {
            const value = read(endpoint);
            if (value !== undefined) this.set({ registry: registryName, endpoint: endpoint.url }, value);
          }
        }
      },
    });
  perEndpoint('layover_upstream_ratelimit_limit', 'Pulls the endpoint allows per window (ratelimit-limit).', (e) => e.rateLimit?.limit);
  perEndpoint('layover_upstream_ratelimit_remaining', 'Pulls left in the window (ratelimit-remaining; 0 after a 429).', (e) => e.rateLimit?.remaining ?? (e.rateLimit?.exhausted ? 0 : undefined));
  perEndpoint('layover_upstream_ratelimit_window_seconds', 'The window the pull limit counts over.', (e) => e.rateLimit?.windowSeconds);
  perEndpoint('layover_upstream_throughput_bytes_per_second', 'Throughput measured from real blob transfers (moving average).', (e) => e.throughputBytesPerSecond);
}
