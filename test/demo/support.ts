/**
 * What the demo tests share: a tiny image over a fast link, so a whole run
 * takes about a second, and the checks that a run left nothing behind.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import type { DemoResult } from '../../src-main/api/types.js';
import { sleep } from '../support/process.js';

/** Tiny, but every layer still a real tar with content. */
export const TINY_SIZE = 256 * 1024;
/** Fast enough for a quick test, slow enough that the link's counters see every byte go by. */
export const FAST_LINK = '200mbit,2ms';

/** Sockets and servers this process holds: a run must give back every one it opened. */
export function openNetworkHandles(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'TCPServerWrap' || kind === 'TCPSocketWrap').length;
}

/**
 * Waits for closed sockets to be released, then compares with the count before the run. The deadline only
 * ends a wait for a state (a loaded machine closes sockets late, never wrongly); it measures nothing.
 */
export async function assertNetworkHandlesBack(before: number): Promise<void> {
  for (let waited = 0; openNetworkHandles() > before && waited < 30_000; waited += 50) await sleep(50);
  assert.equal(openNetworkHandles(), before, `the run left sockets open: ${process.getActiveResourcesInfo().join(', ')}`);
}

/** Nothing in the dir but tsx's compile cache (the CLI tests run the command from source with TMPDIR here). */
export async function assertEmptyDir(dir: string): Promise<void> {
  const left = (await readdir(dir)).filter((name) => !/^tsx-\d+$/.test(name));
  assert.deepEqual(left, [], `${dir} holds what the demo left behind`);
}

/** The result's shape, and what each pull moved over the office link. */
export function assertDemoResult(result: DemoResult, expected: { client: 'docker' | 'layover'; linkId?: string }): void {
  assert.equal(result.simulation, true);
  assert.equal(result.image, 'demo/app:1.0');
  assert.equal(result.client, expected.client);
  assert.equal(result.layers, 5);
  assert.ok(result.bytes >= TINY_SIZE && result.bytes < TINY_SIZE * 1.1, `the image is about the size asked for: ${result.bytes}`);
  if (expected.linkId) assert.equal(result.link.id, expected.linkId);
  for (const key of ['directSeconds', 'coldSeconds', 'cachedSeconds', 'speedup'] as const) {
    assert.ok(Number.isFinite(result[key]) && result[key] > 0, `${key} is a positive number: ${result[key]}`);
  }
  assert.equal(result.linkBytes.warm, 0, 'the warm pull moved no byte over the office link');
  for (const kind of ['direct', 'cold'] as const) {
    const moved = result.linkBytes[kind];
    // The image, plus HTTP headers and (for Docker) its HTTPS probe and manifest HEADs: a few KiB.
    assert.ok(moved >= result.bytes && moved < result.bytes + 64 * 1024, `the ${kind} pull moved about the image over the link: ${moved} for ${result.bytes}`);
  }
  assert.match(result.summary, /^warm pull [\d.]+× faster; 0 bytes over the office link$/);
}
