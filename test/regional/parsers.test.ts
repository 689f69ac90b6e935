/**
 * The small pure pieces under the regional-cache features: what a path and a
 * token scope become on a prefixed endpoint, how Hub's ratelimit headers
 * read, and the order "fastest" asks endpoints in.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeRepositoryPrefix, onEndpoint, repositoryOfPath, splitEndpointUrl } from '../../src-main/core/upstream/endpoint-prefix.js';
import { parseRateLimit, RateLimitState } from '../../src-main/core/upstream/rate-limit.js';
import { EndpointHealth, MIN_THROUGHPUT_SAMPLE_BYTES } from '../../src-main/core/upstream/endpoint-health.js';
import { orderEndpoints } from '../../src-main/core/upstream/endpoint-choice.js';

describe('repository prefix', () => {
  test('every repository path and its pull scope get the prefix; /v2/ and the catalog do not', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const cases: Array<[string, string]> = [
      [`/v2/library/alpine/manifests/3.20`, `/v2/hub-proxy/library/alpine/manifests/3.20`],
      [`/v2/library/alpine/blobs/${digest}`, `/v2/hub-proxy/library/alpine/blobs/${digest}`],
      [`/v2/library/alpine/referrers/${digest}`, `/v2/hub-proxy/library/alpine/referrers/${digest}`],
      [`/v2/library/alpine/tags/list`, `/v2/hub-proxy/library/alpine/tags/list`],
      // A repository named like a route keyword is still one repository.
      [`/v2/team/blobs/tool/blobs/${digest}`, `/v2/hub-proxy/team/blobs/tool/blobs/${digest}`],
      ['/v2/', '/v2/'],
      ['/v2/_catalog', '/v2/_catalog'],
    ];
    for (const [path, expected] of cases) {
      const repository = repositoryOfPath(path);
      const scope = repository ? `repository:${repository}:pull` : undefined;
      const onCache = onEndpoint('hub-proxy/', { path, ...(scope ? { scope } : {}) });
      assert.equal(onCache.path, expected, path);
      assert.equal(onCache.scope, repository ? `repository:hub-proxy/${repository}:pull` : undefined, path);
      assert.deepEqual(onEndpoint('', { path, scope }), { path, scope }, 'no prefix: unchanged');
    }
  });

  test('a prefix is a repository path; the command line splits it off the URL', () => {
    assert.deepEqual(['hub-proxy', '/hub-proxy/', 'mirrors/hub//', ''].map(normalizeRepositoryPrefix), ['hub-proxy/', 'hub-proxy/', 'mirrors/hub/', '']);
    assert.throws(() => normalizeRepositoryPrefix('Hub Proxy'), /is not a repository path/);
    assert.deepEqual(splitEndpointUrl('https://msr.example.com:8443/hub-proxy/'), { url: 'https://msr.example.com:8443', repositoryPrefix: 'hub-proxy/' });
    assert.deepEqual(splitEndpointUrl('https://dtr.example.com'), { url: 'https://dtr.example.com' });
  });
});

describe('pull limit headers', () => {
  test('Hub\'s figures with their window, a missing or broken header reads as nothing', () => {
    assert.deepEqual(parseRateLimit({ 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '76;w=21600', 'docker-ratelimit-source': '192.0.2.10' }),
      { limit: 100, remaining: 76, windowSeconds: 21_600, source: '192.0.2.10' });
    assert.deepEqual(parseRateLimit({ 'ratelimit-limit': '200', 'ratelimit-remaining': '250' }), { limit: 200, remaining: 200 });
    assert.equal(parseRateLimit({ 'ratelimit-limit': '100;w=21600' }), undefined);
    assert.equal(parseRateLimit({ 'ratelimit-limit': 'lots', 'ratelimit-remaining': '3' }), undefined);
  });

  test('low at a fifth (at least 5); a 429 is reached until an answer shows pulls left', () => {
    const state = new RateLimitState();
    assert.equal(state.status(), undefined);
    const at = (remaining: number) => ({ 'ratelimit-limit': '100;w=3600', 'ratelimit-remaining': `${remaining};w=3600` });
    state.observe(200, at(21), 1_000);
    assert.deepEqual([state.status()?.low, state.status()?.exhausted], [false, false]);
    state.observe(200, at(20), 2_000);
    assert.deepEqual([state.status()?.low, state.status()?.exhausted], [true, false]);
    state.observe(429, { 'retry-after': '60' }, 3_000);
    assert.deepEqual([state.status()?.remaining, state.status()?.exhausted, state.status()?.retryAt], [0, true, 63_000]);
    state.observe(200, at(0), 4_000);
    assert.equal(state.status()?.exhausted, true, 'an answer with nothing left keeps it reached');
    state.observe(200, at(100), 5_000);
    assert.deepEqual([state.status()?.low, state.status()?.exhausted], [false, false]);
  });
});

describe('fastest endpoint first', () => {
  const endpoint = (name: string, rate?: number, failures = 0) => {
    const health = new EndpointHealth();
    if (rate !== undefined) health.recordTransfer(MIN_THROUGHPUT_SAMPLE_BYTES * 4, (MIN_THROUGHPUT_SAMPLE_BYTES * 4) / rate);
    for (let i = 0; i < failures; i++) health.recordFailure('refused', 0);
    return { name, health };
  };
  const names = (list: Array<{ name: string }>) => list.map((e) => e.name);

  test('unmeasured in configured order, then measured best first, then failing, then down', () => {
    const list = [endpoint('cache', 1_000_000), endpoint('origin', 9_000_000), endpoint('new'), endpoint('flaky', 50_000_000, 1), endpoint('down', 90_000_000, 3)];
    assert.deepEqual(names(orderEndpoints(list, 'fastest', 1)), ['new', 'origin', 'cache', 'flaky', 'down']);
    assert.deepEqual(names(orderEndpoints(list, 'in-order', 1)), ['cache', 'origin', 'new', 'flaky', 'down']);
  });

  test('small bodies measure the round trip, not the link: they are not counted', () => {
    const health = new EndpointHealth();
    health.recordTransfer(MIN_THROUGHPUT_SAMPLE_BYTES - 1, 0.001);
    assert.deepEqual([health.throughputBytesPerSecond, health.throughputSamples], [undefined, 0]);
    health.recordTransfer(1_000_000, 1);
    health.recordTransfer(2_000_000, 1);
    assert.deepEqual([Math.round(health.throughputBytesPerSecond!), health.throughputSamples], [1_300_000, 2]);
  });
});
