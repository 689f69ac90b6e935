import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTagSelector, selectTags, selectorProblem, tagVersion } from './tag-selectors.js';
import { hostPlatform, parsePlatformChoice, platformMatches } from './platforms.js';

const TAGS = ['1', '1.0', '1.0.1', '1.1', '1.2.0', '1.2.3-alpine', 'v1.3', '2.0', '2.0.0-rc1', 'latest', 'stable', '20240101'];

test('exact, glob, semver and newest pick exactly the right tags', () => {
  assert.deepEqual(selectTags(TAGS, { kind: 'exact', tags: ['latest', '1.1', 'latest'] }), ['latest', '1.1']);
  assert.deepEqual(selectTags(TAGS, { kind: 'glob', pattern: '1.*' }), ['1.0', '1.0.1', '1.1', '1.2.0', '1.2.3-alpine']);
  assert.deepEqual(selectTags(TAGS, { kind: 'glob', pattern: '{latest,stable}' }), ['latest', 'stable']);
  assert.deepEqual(selectTags(TAGS, { kind: 'semver', range: '^1.1' }), ['1.1', '1.2.0', 'v1.3']);
  // A date tag reads as major version 20240101: semver cannot tell, and a range can exclude it (<3).
  assert.deepEqual(selectTags(TAGS, { kind: 'semver', range: '>=2.0.0-rc0' }), ['2.0', '2.0.0-rc1', '20240101']);
  assert.deepEqual(selectTags(TAGS, { kind: 'semver', range: '~1.0' }), ['1', '1.0', '1.0.1']);
  assert.deepEqual(selectTags(TAGS, { kind: 'newest', count: 3 }), ['20240101', '2.0', 'v1.3']);
  assert.deepEqual(selectTags(['1', '1.0', '1.0.0', '0.9'], { kind: 'newest', count: 2 }), ['1.0.0', '1.0'], 'equal versions: the most specific tag first');
});

test('versions read the way images are tagged', () => {
  assert.equal(tagVersion('1.2')?.version, '1.2.0');
  assert.equal(tagVersion('v3')?.version, '3.0.0');
  assert.equal(tagVersion('1.2.3-alpine')?.prerelease[0], 'alpine');
  assert.equal(tagVersion('latest'), undefined);
  assert.equal(tagVersion('1.2.3.4'), undefined);
});

test('the command-line syntax', () => {
  assert.deepEqual(parseTagSelector('1.2,latest'), { kind: 'exact', tags: ['1.2', 'latest'] });
  assert.deepEqual(parseTagSelector('exact:1.2'), { kind: 'exact', tags: ['1.2'] });
  assert.deepEqual(parseTagSelector('1.*'), { kind: 'glob', pattern: '1.*' });
  assert.deepEqual(parseTagSelector('glob:*-alpine'), { kind: 'glob', pattern: '*-alpine' });
  assert.deepEqual(parseTagSelector('semver:>=1.4 <2'), { kind: 'semver', range: '>=1.4 <2' });
  assert.deepEqual(parseTagSelector('newest:3'), { kind: 'newest', count: 3 });
  assert.throws(() => parseTagSelector('newest:three'), /cannot use the tag selector "newest:three": newest needs a whole number/);
  assert.throws(() => parseTagSelector('semver:banana'), /not a semver range/);
  assert.throws(() => parseTagSelector('1.2,-bad'), /"-bad" is not a valid tag/);
  assert.equal(selectorProblem({ kind: 'exact', tags: [] }), 'name at least one tag');
});

test('platforms: host names in OCI terms, choices from the command line', () => {
  assert.deepEqual(hostPlatform('x64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(hostPlatform('arm64'), { os: 'linux', architecture: 'arm64' });
  assert.deepEqual(hostPlatform('arm', 7), { os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.equal(parsePlatformChoice('all'), 'all');
  assert.deepEqual(parsePlatformChoice('linux/arm64, linux/arm/v7'), [
    { os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'arm', variant: 'v7' },
  ]);
  assert.throws(() => parsePlatformChoice('arm64'), /write os\/arch/);
  assert.ok(platformMatches({ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }));
  assert.ok(!platformMatches({ os: 'linux', architecture: 'arm', variant: 'v7' }, { os: 'linux', architecture: 'arm', variant: 'v6' }));
  assert.ok(!platformMatches({ os: 'linux', architecture: 'amd64' }, { os: 'unknown', architecture: 'unknown' }));
});
