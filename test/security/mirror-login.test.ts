/**
 * `docker login MIRROR` with client auth `upstream` does not depend on the
 * health of every registry behind the mirror: with one registry down, the
 * credentials a reachable registry (a real docker-registry with htpasswd)
 * accepts still log in, wrong ones are still refused with 401, and a pull is
 * still checked against its own registry.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getJson } from '../support/http.js';
import { startLayover, type LayoverUnderTest } from '../support/layover.js';
import { freePort, isPortOpen, LOOPBACK } from '../support/ports.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

const owner = { username: 'office', password: 'right-password' };
const basic = (username: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` });

describe('mirror login with a registry down', () => {
  let registry: TestRegistry;
  let layover: LayoverUnderTest;
  let downPort: number;

  before(async () => {
    registry = await startRegistry({ name: 'login-protected', auth: owner });
    // A second registry whose only endpoint is a loopback port nothing listens on: down, as a far DTR can be.
    downPort = await freePort();
    layover = await startLayover({
      upstream: registry.url,
      registries: [`far.example.com=http://${LOOPBACK}:${downPort}`],
      settings: { clientAuth: { mode: 'upstream' } },
    });
  });
  after(async () => {
    await layover?.stop();
    await registry?.destroy();
  });

  const login = (headers: Record<string, string>) => getJson<{ errors?: Array<{ code: string; message: string }> }>(`${layover.url}/v2/`, headers);

  test('the right credentials log in although another registry is unreachable', async () => {
    assert.equal(await isPortOpen(downPort), false, 'the far registry is down');
    const response = await login(basic(owner.username, owner.password));
    assert.equal(response.status, 200, `docker login answered ${response.status}: ${JSON.stringify(response.json)}`);
  });

  test('wrong credentials are still refused with 401, naming the registry that could not be asked', async () => {
    const response = await login(basic(owner.username, 'wrong-password'));
    assert.equal(response.status, 401);
    assert.equal(response.json.errors?.[0]?.code, 'UNAUTHORIZED');
    assert.match(response.json.errors?.[0]?.message ?? '', /far\.example\.com could not be asked/);
    assert.match(String(response.headers['www-authenticate']), /^Basic /);
  });

  test('no credentials are challenged', async () => {
    const response = await login({});
    assert.equal(response.status, 401);
  });

  test('a pull from the registry that is down is still checked against it: 503, not let through', async () => {
    const response = await getJson<{ errors?: Array<{ code: string }> }>(`${layover.url}/v2/far.example.com/team/app/manifests/latest`, basic(owner.username, owner.password));
    assert.equal(response.status, 503);
    assert.equal(response.json.errors?.[0]?.code, 'UNAVAILABLE');
  });
});
