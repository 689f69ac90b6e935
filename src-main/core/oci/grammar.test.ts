import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidName, isValidTag, parseDigest } from './grammar.js';
import { paginate, parsePageSize } from './pagination.js';
import { parseAccept, mediaTypeOfManifest, MediaType } from './media-types.js';

test('repository names follow the distribution grammar', () => {
  for (const name of ['alpine', 'library/alpine', 'a/b/c', 'my-org/my_app', 'a__b', 'a.b-c', 'x--y', '0'])
    assert.equal(isValidName(name), true, name);
  for (const name of ['', 'Alpine', '/a', 'a/', 'a//b', '../etc', 'a/../b', 'a/./b', '-a', 'a-', 'a___b', 'a%2fb', 'a b', '_a', `${'a'.repeat(256)}`])
    assert.equal(isValidName(name), false, name);
});

test('tags follow the grammar, 128 characters at most', () => {
  for (const tag of ['latest', '1.0', 'v1.2.3-rc.1', '_x', 'A'.repeat(128), '__proto__']) assert.equal(isValidTag(tag), true, tag);
  for (const tag of ['', '.hidden', '-x', 'a/b', 'a:b', 'A'.repeat(129), 'a b']) assert.equal(isValidTag(tag), false, tag);
});

test('only verifiable digests parse', () => {
  const hex = 'a'.repeat(64);
  assert.deepEqual(parseDigest(`sha256:${hex}`), { algorithm: 'sha256', encoded: hex });
  assert.ok(parseDigest(`sha512:${'b'.repeat(128)}`));
  for (const bad of [`sha256:${hex.toUpperCase()}`, `sha256:${hex}0`, 'sha256:abc', `md5:${hex}`, `sha256:../${hex.slice(3)}`, hex, `sha256:${'g'.repeat(64)}`])
    assert.equal(parseDigest(bad), undefined, bad);
});

test('pagination is lexical, after `last`, at most n, and says where the next page starts', () => {
  const names = ['a', 'b', 'c', 'd'];
  assert.deepEqual(paginate(names, 2, null), { items: ['a', 'b'], nextLast: 'b' });
  assert.deepEqual(paginate(names, 2, 'b'), { items: ['c', 'd'] });
  assert.deepEqual(paginate(names, undefined, 'bb'), { items: ['c', 'd'] });
  assert.deepEqual(paginate(names, 0, null), { items: [] });
  assert.equal(parsePageSize(null), undefined);
  assert.equal(parsePageSize('10'), 10);
  assert.throws(() => parsePageSize('-1'), /invalid page size/);
  assert.throws(() => parsePageSize('x'), /invalid page size/);
});

test('Accept headers: wildcards mean anything, parameters are ignored', () => {
  assert.equal(parseAccept(undefined), undefined);
  assert.equal(parseAccept('*/*'), undefined);
  assert.deepEqual(parseAccept([`${MediaType.ociIndex}; q=0.5`, `${MediaType.dockerManifest}, ${MediaType.ociManifest}`]),
    new Set([MediaType.ociIndex, MediaType.dockerManifest, MediaType.ociManifest]));
  assert.equal(mediaTypeOfManifest(Buffer.from('{"manifests":[]}')), MediaType.ociIndex);
  assert.equal(mediaTypeOfManifest(Buffer.from('not json')), undefined);
});
