import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerCredentials } from './docker-credentials.js';

/**
 * Docker credential lookup in the docker CLI's order: the host's credHelpers
 * entry, else credsStore, else auths. Helpers are real programs on a PATH the
 * test sets, speaking the credential-helper protocol (`get`, the server URL on
 * stdin, JSON on stdout); each call is logged so the test sees which was asked.
 */

const HUB_KEY = 'https://index.docker.io/v1/';
const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');

describe('Docker credentials', () => {
  let dir: string;
  let bin: string;
  let callLog: string;
  let configCount = 0;

  /** docker-credential-NAME: answers `get` for the server URLs it holds, "credentials not found" for the rest. */
  async function writeHelper(name: string, holds: Record<string, { Username: string; Secret: string }>): Promise<void> {
    const cases = Object.entries(holds).map(([server, secret]) =>
      `  '${server}') echo '${JSON.stringify({ ServerURL: server, ...secret })}' ;;`);
    const script = [
      '#!/bin/sh',
      '[ "$1" = get ] || exit 2',
      'read -r server',
      `echo "${name} $server" >> '${callLog}'`,
      'case "$server" in',
      ...cases,
      '  *) echo "credentials not found in native keychain"; exit 1 ;;',
      'esac',
    ].join('\n');
    await writeFile(join(bin, `docker-credential-${name}`), `${script}\n`);
    await chmod(join(bin, `docker-credential-${name}`), 0o755);
  }

  /** A config.json in a directory of its own, read with the helpers' PATH. */
  async function credentialsFrom(config: Record<string, unknown>): Promise<DockerCredentials> {
    const configDir = join(dir, `config-${configCount++}`);
    await mkdir(configDir);
    await writeFile(join(configDir, 'config.json'), JSON.stringify(config));
    return new DockerCredentials(configDir, { ...process.env, PATH: `${bin}:${process.env.PATH}` });
  }

  /** The helper calls made since the last time this was asked, as "helper server-url". */
  async function takeCalls(): Promise<string[]> {
    const text = await readFile(callLog, 'utf8').catch(() => '');
    await writeFile(callLog, '');
    return text.split('\n').filter((line) => line !== '');
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'layover-dockercfg-'));
    bin = join(dir, 'bin');
    callLog = join(dir, 'helper-calls.log');
    await mkdir(bin);
    await writeHelper('store', {
      'dtr.example.com': { Username: 'from-store', Secret: 'store-secret' },
      [HUB_KEY]: { Username: 'hub-from-store', Secret: 'hub-secret' },
      'sso.example.com': { Username: '<token>', Secret: 'refresh-from-store' },
    });
    await writeHelper('per-host', { 'dtr.example.com': { Username: 'from-per-host', Secret: 'per-host-secret' } });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('auths alone: by host[:port], Docker Hub under its legacy key, identity tokens', async () => {
    const credentials = await credentialsFrom({
      auths: {
        [HUB_KEY]: { auth: basic('hubuser', 'hubpass') },
        'https://dtr.example.com': { auth: basic('ann', 'pa:ss') },
        'sso.example.com': { identitytoken: 'refresh-me' },
        'plain.example:5000': { username: 'bob', password: 'pw' },
      },
    });
    assert.deepEqual(await credentials.lookup('registry-1.docker.io'), { username: 'hubuser', password: 'hubpass' });
    assert.deepEqual(await credentials.lookup('dtr.example.com'), { username: 'ann', password: 'pa:ss' }, 'passwords may contain colons');
    assert.deepEqual(await credentials.lookup('sso.example.com'), { identityToken: 'refresh-me' });
    assert.deepEqual(await credentials.lookup('plain.example:5000'), { username: 'bob', password: 'pw' });
    assert.equal(await credentials.lookup('unknown.example'), undefined);
    assert.deepEqual(await takeCalls(), [], 'no helper is asked when none is configured');
    assert.equal(await new DockerCredentials(join(dir, 'missing')).lookup('dtr.example.com'), undefined);
  });

  test('credsStore answers for every host, before a stale auths entry for the same host', async () => {
    const credentials = await credentialsFrom({
      auths: { 'dtr.example.com': { auth: basic('stale', 'stale') }, [HUB_KEY]: {} },
      credsStore: 'store',
    });
    assert.deepEqual(await credentials.lookup('dtr.example.com'), { username: 'from-store', password: 'store-secret' });
    assert.deepEqual(await credentials.lookup('registry-1.docker.io'), { username: 'hub-from-store', password: 'hub-secret' });
    assert.deepEqual(await credentials.lookup('sso.example.com'), { identityToken: 'refresh-from-store' }, 'Username <token> is an identity token');
    assert.deepEqual(await takeCalls(), ['store dtr.example.com', `store ${HUB_KEY}`, 'store sso.example.com']);
  });

  test("the host's credHelpers entry comes before credsStore and auths; other hosts still go to credsStore", async () => {
    const credentials = await credentialsFrom({
      auths: { 'dtr.example.com': { auth: basic('stale', 'stale') } },
      credsStore: 'store',
      credHelpers: { 'dtr.example.com': 'per-host' },
    });
    assert.deepEqual(await credentials.lookup('dtr.example.com'), { username: 'from-per-host', password: 'per-host-secret' });
    assert.deepEqual(await credentials.lookup('registry-1.docker.io'), { username: 'hub-from-store', password: 'hub-secret' });
    assert.deepEqual(await takeCalls(), ['per-host dtr.example.com', `store ${HUB_KEY}`]);
  });

  test('a configured helper that does not hold the host ends the lookup, as in the docker CLI', async () => {
    const credentials = await credentialsFrom({
      auths: { 'other.example': { auth: basic('stale', 'stale') } },
      credsStore: 'store',
      credHelpers: { 'gone.example': 'not-installed' },
    });
    assert.equal(await credentials.lookup('other.example'), undefined);
    assert.equal(await credentials.lookup('gone.example'), undefined, 'a helper that is not installed gives no credentials');
    assert.deepEqual(await takeCalls(), ['store other.example']);
  });
});
