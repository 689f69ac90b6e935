import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS } from '../api/settings-schema.js';
import { isOciError } from '../core/oci/errors.js';
import { ClientLimiter } from './client-limits.js';

const BUILD_HOST = '10.1.2.3';

/** Admits requests at a steady pace; counts the 429s. */
function drive(limiter: ClientLimiter, address: string, requests: number, perSecond: number, start = 0): { refused: number; retryAfter: string[] } {
  let refused = 0;
  const retryAfter: string[] = [];
  for (let i = 0; i < requests; i++) {
    try {
      limiter.admit(address, start + (i * 1000) / perSecond)();
    } catch (error) {
      assert.ok(isOciError(error) && error.status === 429 && error.code === 'TOOMANYREQUESTS');
      refused += 1;
      retryAfter.push(error.headers?.['retry-after'] ?? '');
    }
  }
  return { refused, retryAfter };
}

describe('per-client limits', () => {
  test('a build host pulling 60 images at once (each HEAD, manifest, config, 6 layers from a warm cache: 540 requests in 1 s) gets no 429 with the office defaults', () => {
    const limiter = new ClientLimiter(DEFAULT_LIMITS);
    assert.equal(drive(limiter, BUILD_HOST, 60 * 9, 540).refused, 0);
  });

  test('a runaway client is refused after its burst, with Retry-After', () => {
    const limiter = new ClientLimiter({ ...DEFAULT_LIMITS, perClientRequestsPerSecond: 10 });
    const { refused, retryAfter } = drive(limiter, BUILD_HOST, 200, 1000);
    // A burst of 4 s worth (40), plus one more refilled during the 0.199 s the run lasts: the rest are refused.
    assert.equal(refused, 200 - 41);
    assert.ok(retryAfter.every((value) => Number(value) >= 1));
  });

  test('the machine\'s own clients on loopback are never rate limited, IPv4, IPv6 and IPv4-mapped', () => {
    const limiter = new ClientLimiter({ ...DEFAULT_LIMITS, perClientRequestsPerSecond: 1 });
    for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) assert.equal(drive(limiter, address, 1000, 1000).refused, 0, address);
    assert.ok(drive(limiter, '::ffff:10.1.2.3', 10, 1000).refused > 0, 'a LAN client through IPv4-mapped IPv6 is');
  });

  test('the concurrency cap holds on loopback too: requests in flight are counted until they end', () => {
    const limiter = new ClientLimiter({ ...DEFAULT_LIMITS, perClientConcurrency: 2 });
    const first = limiter.admit('127.0.0.1', 0);
    limiter.admit('127.0.0.1', 0);
    assert.throws(() => limiter.admit('127.0.0.1', 0), /more than 2 requests in flight/);
    first();
    first(); // releasing twice frees one slot, not two
    limiter.admit('127.0.0.1', 0);
    assert.throws(() => limiter.admit('127.0.0.1', 0), /more than 2 requests in flight/);
  });
});
