import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChallenge } from './challenge.js';
import { EndpointHealth } from './endpoint-health.js';

test('parses Bearer challenges with quoted and escaped params', () => {
  const challenge = parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"');
  assert.equal(challenge?.scheme, 'bearer');
  assert.equal(challenge?.params.realm, 'https://auth.docker.io/token');
  assert.equal(challenge?.params.scope, 'repository:library/alpine:pull');
  assert.equal(parseChallenge('Basic realm="a \\"quoted\\" realm"')?.params.realm, 'a "quoted" realm');
  assert.equal(parseChallenge('basic')?.scheme, 'basic');
  assert.equal(parseChallenge(undefined), undefined);
  assert.equal(parseChallenge('   '), undefined);
});

test('an endpoint that keeps failing is skipped, with a growing backoff, and recovers on success', () => {
  const health = new EndpointHealth();
  const now = 1_000_000;
  health.recordFailure('refused', now);
  health.recordFailure('refused', now);
  assert.equal(health.isDown(now), false);
  assert.equal(health.state(now), 'degraded');
  health.recordFailure('refused', now);
  assert.equal(health.isDown(now + 9_000), true);
  assert.equal(health.isDown(now + 10_001), false);
  health.recordFailure('refused', now);
  assert.equal(health.isDown(now + 19_000), true);
  health.recordSuccess(12, now);
  assert.equal(health.state(now), 'healthy');
  assert.equal(health.isDown(now), false);
});
