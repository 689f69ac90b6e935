// What the mesh tests on loopback read of a laptop's mesh, and how they wait for it to change.
import type { LayoverUnderTest } from '../support/layover.js';

/** Peers this laptop sees as live right now. */
export function livePeers(laptop: LayoverUnderTest): number {
  return laptop.instance.core.meshStatus()?.peers.filter((peer) => peer.state === 'live').length ?? 0;
}

/** Waits for a state the mesh exposes (peers live or dropped), with a bound only a broken mesh reaches. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
