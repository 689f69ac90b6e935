/**
 * The dashboard's lists at size (issue 13, part 7), searched and paged by the
 * core: every cached repository is on exactly one page, a page never holds
 * more than asked, a search finds what contains the text, and bad input is
 * refused with its reason.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RequestRecord } from '../../src-main/api/types.js';
import { listCachedRepositories, listRequests } from '../../src-main/app/browse-cache.js';
import { MetadataIndex } from '../../src-main/core/store/metadata.js';
import { makeTempDir, removeTempDir } from '../support/process.js';

const REPOSITORIES = 700;
let dir: string;
let index: MetadataIndex;

before(async () => {
  dir = await makeTempDir('cache-pages');
  index = new MetadataIndex(dir);
  await index.load();
  for (let r = 0; r < REPOSITORIES; r++) {
    const registry = r % 7 === 0 ? 'dtr.example.com' : 'docker.io';
    for (let t = 0; t < 3; t++) index.setTag(registry, `team/service-${String(r).padStart(4, '0')}`, `1.${t}`, { digest: `sha256:${'a'.repeat(64)}`, mediaType: 'm', checkedAt: 1 });
  }
  await index.flush();
});
after(async () => {
  await index?.close();
  if (dir) await removeTempDir(dir);
});

test('paging through the cached repositories shows each once, never more than a page at a time', () => {
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = listCachedRepositories(index, { limit: 50, ...(cursor ? { cursor } : {}) });
    assert.ok(page.repositories.length <= 50, `page ${pages + 1} holds ${page.repositories.length}`);
    assert.equal(page.total, REPOSITORIES);
    seen.push(...page.repositories.map((repo) => `${repo.registry}/${repo.name}`));
    for (const repo of page.repositories) assert.equal(repo.cachedTags, 3);
    cursor = page.next;
    pages += 1;
  } while (cursor);
  assert.equal(pages, REPOSITORIES / 50);
  assert.equal(new Set(seen).size, REPOSITORIES, 'every repository once');
});

test('a search is done by the core: the one repository whose name contains the text, in its registry', () => {
  const page = listCachedRepositories(index, { query: 'SERVICE-0123' });
  assert.deepEqual(page.repositories.map((repo) => `${repo.registry}/${repo.name}`), ['docker.io/team/service-0123']);
  assert.equal(page.next, undefined);
  const inDtr = listCachedRepositories(index, { registry: 'dtr.example.com', query: 'service-00', limit: 200 });
  assert.deepEqual(inDtr.repositories.map((repo) => repo.name), ['team/service-0000', 'team/service-0007', 'team/service-0014', 'team/service-0021', 'team/service-0028', 'team/service-0035', 'team/service-0042', 'team/service-0049', 'team/service-0056', 'team/service-0063', 'team/service-0070', 'team/service-0077', 'team/service-0084', 'team/service-0091', 'team/service-0098']);
  assert.equal(listCachedRepositories(index, { query: 'no-such-repository' }).repositories.length, 0);
});

test('bad paging input is refused with its reason', () => {
  assert.throws(() => listCachedRepositories(index, { limit: 0 }), /limit must be a whole number from 1 to 200/);
  assert.throws(() => listCachedRepositories(index, { limit: 5000 }), /limit must be/);
  assert.throws(() => listCachedRepositories(index, { cursor: '../../etc' }), /cursor is not one this Layover handed out/);
  assert.throws(() => listCachedRepositories(index, { query: 'x'.repeat(300) }), /at most 256 characters/);
});

test('recent requests come newest first, a page at a time, searched and filtered by the core', () => {
  const recent: RequestRecord[] = Array.from({ length: 120 }, (_, i) => ({
    id: `r${119 - i}`,
    at: 1000 - i,
    method: 'GET',
    registry: 'docker.io',
    repository: `team/service-${String((119 - i) % 40).padStart(4, '0')}`,
    kind: i % 3 === 0 ? 'manifest' : 'blob',
    reference: '1.0',
    status: i % 10 === 0 ? 404 : 200,
    bytes: 10,
    durationMs: 1,
    client: '127.0.0.1',
  }));
  const first = listRequests(recent, { limit: 50 });
  assert.equal(first.requests.length, 50);
  assert.equal(first.requests[0]!.id, 'r119');
  const second = listRequests(recent, { limit: 50, cursor: first.next! });
  assert.equal(second.requests[0]!.id, 'r69');
  const third = listRequests(recent, { limit: 50, cursor: second.next! });
  assert.equal(third.requests.length, 20);
  assert.equal(third.next, undefined);
  const searched = listRequests(recent, { query: 'service-0007' });
  assert.deepEqual(searched.requests.map((r) => r.id), ['r87', 'r47', 'r7']);
  assert.equal(listRequests(recent, { kind: 'errors', limit: 200 }).requests.length, 12);
  assert.equal(listRequests(recent, { kind: 'manifests', limit: 200 }).requests.length, 40);
});
