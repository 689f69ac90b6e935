/**
 * Which endpoint of a registry is asked first. "in-order" keeps the configured
 * order (the regional cache, then the origin); "fastest" prefers the healthy
 * endpoint whose real transfers have been quickest, because the regional
 * cache is not always the fast one from a given office.
 */
import type { EndpointHealth } from './endpoint-health.js';

export type EndpointChoice = 'in-order' | 'fastest';

/**
 * Healthy endpoints first, then those that are down (still better than nothing).
 * With "fastest", among endpoints without recent failures, those not measured yet come first, in configured order, so
 * each gets measured by a real transfer; then the measured ones, best first.
 */
export function orderEndpoints<T extends { health: EndpointHealth }>(endpoints: readonly T[], choice: EndpointChoice, now = Date.now()): T[] {
  const up = endpoints.filter((endpoint) => !endpoint.health.isDown(now));
  const down = endpoints.filter((endpoint) => endpoint.health.isDown(now));
  if (choice === 'in-order') return [...up, ...down];
  // A failing endpoint is not "healthy" whatever its past speed: it goes after those that answer.
  const healthy = up.filter((endpoint) => endpoint.health.consecutiveFailures === 0);
  const degraded = up.filter((endpoint) => endpoint.health.consecutiveFailures > 0);
  const unmeasured = healthy.filter((endpoint) => endpoint.health.throughputBytesPerSecond === undefined);
  const measured = healthy
    .filter((endpoint) => endpoint.health.throughputBytesPerSecond !== undefined)
    .sort((a, b) => b.health.throughputBytesPerSecond! - a.health.throughputBytesPerSecond!);
  return [...unmeasured, ...measured, ...degraded, ...down];
}
