import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFaultUpstream } from '../../../test/support/fault-upstream.js';
import { DockerCredentials } from './docker-credentials.js';
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

test('Docker config: auths by host[:port], identity tokens, and credential helpers', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'layover-dockercfg-'));
  const bin = join(dir, 'bin');
  await mkdir(bin);
  // A real credential helper program, as docker-credential-* are: reads the server URL on stdin.
  await writeFile(join(bin, 'docker-credential-test'), '#!/bin/sh\nread server\nif [ "$server" = "helped.example:5000" ]; then echo \'{"Username":"hal","Secret":"from-helper"}\'; else echo "credentials not found" >&2; exit 1; fi\n');
  await chmod(join(bin, 'docker-credential-test'), 0o755);
  await writeFile(join(dir, 'config.json'), JSON.stringify({
    auths: {
      'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:hubpass').toString('base64') },
      'dtr.example.com': { auth: Buffer.from('ann:pa:ss').toString('base64') },
      'sso.example.com': { identitytoken: 'refresh-me' },
    },
    credHelpers: { 'helped.example:5000': 'test' },
  }));
  const previousPath = process.env.PATH;
  process.env.PATH = `${bin}:${previousPath}`;
  try {
    const creds = new DockerCredentials(dir);
    assert.deepEqual(await creds.lookup('registry-1.docker.io'), { username: 'hubuser', password: 'hubpass' });
    assert.deepEqual(await creds.lookup('dtr.example.com'), { username: 'ann', password: 'pa:ss' }, 'passwords may contain colons');
    assert.deepEqual(await creds.lookup('sso.example.com'), { identityToken: 'refresh-me' });
    assert.deepEqual(await creds.lookup('helped.example:5000'), { username: 'hal', password: 'from-helper' });
    assert.equal(await creds.lookup('unknown.example'), undefined);
    assert.equal(await new DockerCredentials(join(dir, 'missing')).lookup('dtr.example.com'), undefined);
  } finally {
    process.env.PATH = previousPath;
    await rm(dir, { recursive: true, force: true });
  }
});
