import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFaultUpstream } from '../../../test/support/fault-upstream.js';
import { RegistryClient, UpstreamUnavailableError } from './registry-client.js';

test('an upstream that accepts and never answers fails within the headers timeout, not a hang', async () => {
  const upstream = await startFaultUpstream();
  upstream.setFault('/v2/x/manifests/latest', { kind: 'hang' });
  const client = new RegistryClient({ name: 'slow', endpoints: [{ url: upstream.url }] }, { timeouts: { connectMs: 500, headersMs: 300, idleMs: 300 } });
  const started = Date.now();
  try {
    await assert.rejects(client.request({ method: 'GET', path: '/v2/x/manifests/latest' }), UpstreamUnavailableError);
    assert.ok(Date.now() - started < 3_000);
  } finally {
    await client.close();
    await upstream.stop();
  }
});

test('a body that stalls past the idle timeout errors instead of waiting forever', async () => {
  const upstream = await startFaultUpstream();
  const digest = upstream.addBlob(Buffer.alloc(100_000, 1));
  upstream.setFault(digest, { kind: 'stall', afterBytes: 1000 });
  const client = new RegistryClient({ name: 'slow', endpoints: [{ url: upstream.url }] }, { timeouts: { connectMs: 500, headersMs: 1000, idleMs: 150 } });
  try {
    const response = await client.request({ method: 'GET', path: `/v2/x/blobs/${digest}` });
    await assert.rejects(response.body.arrayBuffer(), /timeout/i);
  } finally {
    await client.close();
    await upstream.stop();
  }
});
