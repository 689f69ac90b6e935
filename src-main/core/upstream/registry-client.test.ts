import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFaultUpstream } from '../../../test/support/fault-upstream.js';
import { RegistryClient, UpstreamUnavailableError } from './registry-client.js';

// The test's own timeout is the hang bound; what ended the wait is told by the error, not by a stopwatch.
test('an upstream that accepts and never answers fails within the headers timeout, not a hang', { timeout: 60_000 }, async () => {
  const upstream = await startFaultUpstream();
  upstream.setFault('/v2/x/manifests/latest', { kind: 'hang' });
  const client = new RegistryClient({ name: 'slow', endpoints: [{ url: upstream.url }] }, { timeouts: { connectMs: 500, headersMs: 300, idleMs: 300 } });
  try {
    await assert.rejects(client.request({ method: 'GET', path: '/v2/x/manifests/latest' }), (error: Error) => {
      assert.ok(error instanceof UpstreamUnavailableError, String(error));
      assert.match(`${error.message} ${String((error as { cause?: unknown }).cause ?? '')}`, /headers? ?timeout/i);
      return true;
    });
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
