import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRoute } from '../core/oci/routes.js';
import { RegistryRouter } from '../core/routing/registry-routing.js';
import { RegistryClient } from '../core/upstream/registry-client.js';
import { OciError } from '../core/oci/errors.js';

test('routes parse from the end, so names may contain API words', () => {
  assert.deepEqual(parseRoute('GET', '/v2/'), { kind: 'base' });
  assert.deepEqual(parseRoute('HEAD', '/v2'), { kind: 'base' });
  assert.deepEqual(parseRoute('GET', '/v2/_catalog'), { kind: 'catalog' });
  assert.deepEqual(parseRoute('GET', '/v2/a/manifests/b/manifests/latest'), { kind: 'manifest', path: 'a/manifests/b', reference: 'latest' });
  assert.deepEqual(parseRoute('GET', '/v2/blobs/blobs/sha256:x'), { kind: 'blob', path: 'blobs', digest: 'sha256:x' });
  assert.deepEqual(parseRoute('GET', '/v2/tags/tags/list'), { kind: 'tags', path: 'tags' });
  assert.deepEqual(parseRoute('GET', '/v2/a/referrers/b/referrers/sha256:x'), { kind: 'referrers', path: 'a/referrers/b', digest: 'sha256:x' });
});

test('writes are refused with 405 UNSUPPORTED, unknown paths with 404', () => {
  for (const [method, path] of [['PUT', '/v2/a/manifests/x'], ['POST', '/v2/a/blobs/uploads/'], ['GET', '/v2/a/blobs/uploads/123'], ['DELETE', '/v2/a/blobs/sha256:x'], ['PATCH', '/v2/']]) {
    assert.throws(() => parseRoute(method!, path!), (error: OciError) => error.status === 405 && error.code === 'UNSUPPORTED', `${method} ${path}`);
  }
  assert.throws(() => parseRoute('GET', '/v1/x'), (error: OciError) => error.status === 404);
  assert.throws(() => parseRoute('PUT', '/v2/a/referrers/x'), (error: OciError) => error.status === 405);
});

test('registry routing: ?ns= first, then a configured prefix, then the default', () => {
  const hub = new RegistryClient({ name: 'docker.io', aliases: ['registry-1.docker.io'], endpoints: [{ url: 'http://127.0.0.1:1' }] });
  const dtr = new RegistryClient({ name: 'dtr.example.com', endpoints: [{ url: 'http://127.0.0.1:2' }] });
  const router = new RegistryRouter([hub, dtr], 'docker.io');
  assert.deepEqual(router.resolve('eng/app', 'dtr.example.com'), { client: dtr, repository: 'eng/app' });
  assert.deepEqual(router.resolve('dtr.example.com/eng/app', null), { client: dtr, repository: 'eng/app' });
  assert.deepEqual(router.resolve('alpine', 'registry-1.docker.io'), { client: hub, repository: 'library/alpine' });
  assert.deepEqual(router.resolve('library/alpine', null), { client: hub, repository: 'library/alpine' });
  assert.throws(() => router.resolve('x', 'ghcr.io'), (error: OciError) => error.code === 'NAME_UNKNOWN');
  assert.throws(() => router.resolve('dtr.example.com/../x', null), (error: OciError) => error.code === 'NAME_INVALID');
  assert.throws(() => router.resolve('UPPER', null), (error: OciError) => error.code === 'NAME_INVALID' && error.status === 400);
});
