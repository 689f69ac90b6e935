import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatReference, mirrorReference, parseImageReference } from './image-reference.js';
import { isLoopback, isSameMirror, mirrorUrl, parseMirrorAddress } from './mirror-address.js';

test('references are normalised as Docker does', () => {
  const cases: Array<[string, string]> = [
    ['alpine', 'docker.io/library/alpine:latest'],
    ['alpine:3.20', 'docker.io/library/alpine:3.20'],
    ['docker.io/library/alpine', 'docker.io/library/alpine:latest'],
    ['index.docker.io/library/alpine', 'docker.io/library/alpine:latest'],
    ['bitnami/redis:7', 'docker.io/bitnami/redis:7'],
    ['dtr.example.com/eng/app:7', 'dtr.example.com/eng/app:7'],
    ['dtr.example.com:8443/eng/app', 'dtr.example.com:8443/eng/app:latest'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/a/b/c:v1.2', 'localhost:5000/a/b/c:v1.2'],
    [`alpine@sha256:${'a'.repeat(64)}`, `docker.io/library/alpine@sha256:${'a'.repeat(64)}`],
    [`dtr.example.com/eng/app:7@sha256:${'b'.repeat(64)}`, `dtr.example.com/eng/app:7@sha256:${'b'.repeat(64)}`],
  ];
  for (const [input, expected] of cases) assert.equal(formatReference(parseImageReference(input)), expected, input);
});

test('what is not a reference is refused with the reason', () => {
  assert.throws(() => parseImageReference('Alpine'), /lower case/);
  assert.throws(() => parseImageReference('dtr.example.com/Eng/app'), /lower case/);
  assert.throws(() => parseImageReference(''), /not a valid repository name/);
  assert.throws(() => parseImageReference('dtr.example.com/'), /not a valid repository name/);
  assert.throws(() => parseImageReference('alpine:'), /not a valid tag/);
  assert.throws(() => parseImageReference('alpine@sha256:xyz'), /is not a sha256 or sha512 digest/);
  assert.throws(() => parseImageReference('a@b@c'), /more than one "@"/);
  assert.throws(() => parseImageReference('-bad.example.com/app'), /is not a registry host/);
  assert.throws(() => parseImageReference(`app/${'a'.repeat(260)}`), /longer than 255/);
});

test('mirror-side names: a registry Layover routes by its first path component, Docker Hub at the root', () => {
  const onMirror = (input: string, defaultRegistry?: string) =>
    formatReference(mirrorReference(parseImageReference(input), '127.0.0.1:5050', defaultRegistry));
  assert.equal(onMirror('dtr.example.com/eng/app:7'), '127.0.0.1:5050/dtr.example.com/eng/app:7');
  assert.equal(onMirror('alpine'), '127.0.0.1:5050/library/alpine:latest');
  assert.equal(onMirror('docker.io/library/alpine:3'), '127.0.0.1:5050/library/alpine:3');
  assert.equal(onMirror('DTR.Example.com/eng/app:7'), '127.0.0.1:5050/dtr.example.com/eng/app:7');
  // When the office made its DTR the default registry, Hub images need the prefix instead.
  assert.equal(onMirror('dtr.example.com/eng/app:7', 'dtr.example.com'), '127.0.0.1:5050/eng/app:7');
  assert.equal(onMirror('alpine', 'dtr.example.com'), '127.0.0.1:5050/docker.io/library/alpine:latest');
  assert.throws(() => onMirror('dtr.example.com:8443/eng/app:7'), /cannot be named in a repository path/);
  // The mirror-side name is itself a valid reference Docker will accept.
  assert.equal(formatReference(parseImageReference(onMirror('dtr.example.com/eng/app:7'))), '127.0.0.1:5050/dtr.example.com/eng/app:7');
});

test('mirror addresses: HOST:PORT means plain HTTP; entries are the same mirror whatever their scheme or slash', () => {
  assert.equal(mirrorUrl(parseMirrorAddress('127.0.0.1:5050')), 'http://127.0.0.1:5050');
  assert.equal(mirrorUrl(parseMirrorAddress('https://Layover.Office.Example:443/')), 'https://layover.office.example');
  assert.equal(parseMirrorAddress('[::1]:5050').host, '[::1]:5050');
  const layover = parseMirrorAddress('127.0.0.1:5050');
  for (const entry of ['http://127.0.0.1:5050/', 'https://127.0.0.1:5050', '127.0.0.1:5050', 'http://127.0.0.1:5050//'.slice(0, -1)]) {
    assert.equal(isSameMirror(entry, layover), true, entry);
  }
  for (const entry of ['http://127.0.0.1:5051', 'http://localhost:5050', 'not a url at all']) assert.equal(isSameMirror(entry, layover), false, entry);
  assert.throws(() => parseMirrorAddress('ftp://127.0.0.1:21'), /scheme must be http or https/);
  assert.throws(() => parseMirrorAddress('http://u:p@127.0.0.1:5050'), /credentials/);
  assert.equal(isLoopback(parseMirrorAddress('127.1.2.3:1')), true);
  assert.equal(isLoopback(parseMirrorAddress('[::1]:1')), true);
  assert.equal(isLoopback(parseMirrorAddress('localhost:1')), true);
  assert.equal(isLoopback(parseMirrorAddress('layover.office.example:5050')), false);
});
