/**
 * Client auth `upstream` against an upstream that uses Bearer tokens: a real
 * docker-registry configured with `auth: token:`, and a token issuer of the
 * test's own (test/support/token-issuer.ts) that grants each user only the
 * repositories it holds. Layover fetches with its own account; each client
 * reads through it only what the upstream's issuer grants that client.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeSampleLayout } from '../../src-main/demo/sample-images.js';
import { get, getJson } from '../support/http.js';
import { startLayover, type LayoverUnderTest } from '../support/layover.js';
import { makeTempDir, removeTempDir, sleep } from '../support/process.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { pushSampleLayout, skopeoPull, type Credentials } from '../support/skopeo.js';
import { startTokenIssuer, type TestTokenIssuer, type TokenUser } from '../support/token-issuer.js';

const pusher = { username: 'pusher', password: 'push-secret' };
const service = { username: 'layover', password: 'layover-secret' };
const alice = { username: 'alice', password: 'wonderland' };
const bob = { username: 'bob', password: 'builder' };
const eve = { username: 'eve', password: 'eavesdrop' };

const USERS: Record<string, TokenUser> = {
  [pusher.username]: { password: pusher.password, grants: { '*': ['pull', 'push'] } },
  [service.username]: { password: service.password, grants: { '*': ['pull'] } },
  [alice.username]: { password: alice.password, grants: { 'eng/app': ['pull'], 'eng/tools': ['pull'] } },
  // Known to the issuer, holds nothing: gets a token that grants nothing, as the token spec asks.
  [bob.username]: { password: bob.password, grants: {} },
  // Holds nothing, and this issuer says so with 403 instead of an empty token.
  [eve.username]: { password: eve.password, grants: {}, refuseOutright: true },
};

const basic = ({ username, password }: Credentials) => ({ authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` });
const PULL_APP = 'repository:eng/app:pull';
const PULL_TOOLS = 'repository:eng/tools:pull';

describe('client auth upstream with a Bearer-token upstream', () => {
  let work: string;
  let issuer: TestTokenIssuer;
  let registry: TestRegistry;
  let layover: LayoverUnderTest;
  /** repository:tag -> manifest digest as pushed. */
  const pushed = new Map<string, string>();

  before(async () => {
    work = await makeTempDir('client-auth-bearer');
    issuer = await startTokenIssuer({ users: USERS });
    registry = await startRegistry({
      name: 'token-dtr',
      tokenAuth: { realm: issuer.realm, service: issuer.service, issuer: issuer.issuer, rootCertBundle: issuer.rootCertBundle },
    });
    for (const [repository, tags] of [['eng/app', ['v1']], ['eng/tools', ['v1', 'v2']]] as const) {
      const layout = await writeSampleLayout(join(work, repository.replace('/', '_')), tags.map((tag) => (
        { tag, layers: [{ size: 128 * 1024, seed: `${repository}:${tag}` }] })));
      for (const [tag, digest] of await pushSampleLayout(layout, { registryHost: registry.host, repository, creds: pusher })) {
        pushed.set(`${repository}:${tag}`, digest);
      }
    }
    layover = await startLayover({ upstream: registry.url, settings: { clientAuth: { mode: 'upstream' } } });
    // Layover fetches with an account of its own; what a client may read is asked with the client's credentials.
    const registries = layover.instance.core.settings.registries.map((entry) => (
      entry.endpoints[0]?.url === registry.url ? { ...entry, endpoints: [{ url: registry.url, ...service }] } : entry));
    await layover.instance.api.updateSettings({ registries });
  });
  after(async () => {
    await layover?.stop();
    await registry?.destroy();
    await issuer?.stop();
    if (work) await removeTempDir(work);
  });

  const manifestUrl = (repository: string, tag: string) => `${layover.url}/v2/${repository}/manifests/${tag}`;
  const pull = (reference: string, creds: Credentials) => skopeoPull({ reference: `${layover.host}/${reference}`, creds });

  test('a user the issuer grants the repository pulls through Layover', async () => {
    const pulled = await pull('eng/app:v1', alice);
    try {
      assert.equal(pulled.digest, pushed.get('eng/app:v1'));
    } finally {
      await removeTempDir(pulled.dir);
    }
    assert.ok(issuer.issued({ user: 'alice', scope: PULL_APP }).length >= 1, "alice's access was asked with her own credentials");
    assert.ok(issuer.issued({ user: 'layover', scope: PULL_APP }).length >= 1, 'the content came with Layover\'s account');
  });

  test('a user the issuer refuses the scope gets 403 DENIED, and the cached content is not served to them', async () => {
    const cached = await get(manifestUrl('eng/app', 'v1'), basic(alice));
    assert.equal(cached.status, 200);
    assert.equal(cached.headers['x-layover-cache'], 'hit', 'alice\'s pull put the manifest in the cache');
    const layers = (JSON.parse(cached.body.toString('utf8')) as { layers: Array<{ digest: string }> }).layers;
    for (const [user, url] of [
      [bob, manifestUrl('eng/app', 'v1')],
      [bob, `${layover.url}/v2/eng/app/blobs/${layers[0]!.digest}`],
      [eve, manifestUrl('eng/app', 'v1')],
    ] as const) {
      const refused = await getJson<{ errors: Array<{ code: string; message: string }> }>(url, basic(user));
      assert.equal(refused.status, 403, `${user.username} ${url}: ${JSON.stringify(refused.json)}`);
      assert.equal(refused.json.errors[0]?.code, 'DENIED');
      assert.equal(refused.headers['x-layover-cache'], undefined, 'nothing from the cache');
    }
    assert.deepEqual(issuer.refusals(), [{ user: 'eve', status: 403 }], 'bob got a token that grants nothing; eve a 403');
    await assert.rejects(pull('eng/app:v1', bob), /denied|403/i, 'skopeo as bob is refused too');
  });

  test('a wrong password is 401 UNAUTHORIZED, not DENIED', async () => {
    const wrong = await getJson<{ errors: Array<{ code: string }> }>(manifestUrl('eng/app', 'v1'), basic({ ...alice, password: 'guess' }));
    assert.equal(wrong.status, 401);
    assert.equal(wrong.json.errors[0]?.code, 'UNAUTHORIZED');
    assert.equal(wrong.headers['www-authenticate'], 'Basic realm="Layover"');
  });

  test('a token that expires while Layover holds it is replaced by a fresh one, and the pull still works', async () => {
    // The issuer says an hour; the registry accepts the token 3 s: the token Layover caches expires under it.
    issuer.setLifetime({ claimedSeconds: 3600, validSeconds: 3 });
    const first = await pull('eng/tools:v1', alice);
    await removeTempDir(first.dir);
    assert.equal(first.digest, pushed.get('eng/tools:v1'));
    const held = issuer.issued({ user: 'layover', scope: PULL_TOOLS });
    assert.equal(held.length, 1, 'Layover kept the token for its lifetime');
    issuer.setLifetime({ claimedSeconds: 3600, validSeconds: 3600 });
    // A known instant on the same clock as the registry's, not a guess at background work.
    await sleep(held[0]!.validUntil - Date.now() + 1_000);
    const mark = await registry.mark();
    const second = await pull('eng/tools:v2', alice);
    await removeTempDir(second.dir);
    assert.equal(second.digest, pushed.get('eng/tools:v2'));
    // Content requests only: a verdict asked again (after its minute) starts with an unauthenticated 401 of its own.
    const refusedExpired = await registry.count({ pathMatches: /^\/v2\/eng\/tools\/(manifests|blobs)\//, status: 401, since: mark });
    assert.equal(refusedExpired, 1, 'the registry refused the expired token once');
    assert.equal(issuer.issued({ user: 'layover', scope: PULL_TOOLS }).length, 2, 'and Layover fetched exactly one fresh token');
  });
});
