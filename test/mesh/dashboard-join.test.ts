/**
 * Creating and joining an office mesh from the dashboard (issue 15, "first run
 * and Settings ask"): the API over the real admin HTTP listener of two real
 * headless Layovers on loopback. One creates the office and gets its join
 * code; the other joins with it; both then hold the same key, which shows as
 * each accepting the other's signed requests (a live peer on both sides).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { OfficeKey, readOfficeKeyFile } from '../../src-main/app/mesh-wiring.js';
import type { LayoverApi } from '../../src-main/api/layover-api.js';
import { adminClient, startLayover, type LayoverUnderTest } from '../support/layover.js';
import { freePorts, LOOPBACK } from '../support/ports.js';
import { livePeers, waitFor } from './mesh-state.js';

describe('office mesh from the dashboard (create, join with a code, leave)', () => {
  let owner: LayoverUnderTest;
  let colleague: LayoverUnderTest;
  let ownerApi: LayoverApi;
  let colleagueApi: LayoverApi;

  before(async () => {
    const [ownerPort, colleaguePort] = await freePorts(2);
    const address = (port: number | undefined) => `${LOOPBACK}:${port}`;
    // Off, as on a laptop before the user joins; listener and peer set so the two find each other without mDNS.
    owner = await startLayover({ settings: { mesh: { enabled: false, listen: address(ownerPort), discovery: false, peers: [address(colleaguePort)] } } });
    colleague = await startLayover({ settings: { mesh: { enabled: false, listen: address(colleaguePort), discovery: false, peers: [address(ownerPort)] } } });
    ownerApi = await adminClient({ adminUrl: owner.instance.adminUrl! });
    colleagueApi = await adminClient({ adminUrl: colleague.instance.adminUrl! });
  });

  after(async () => {
    await owner?.stop().catch(() => undefined);
    await colleague?.stop().catch(() => undefined);
  });

  test('a mistyped code is refused with the reason, and nothing is written or turned on', async () => {
    const code = OfficeKey.generate().toCode();
    const last = code.at(-1)!;
    const typo = `${code.slice(0, -1)}${last === '0' ? '2' : '0'}`;
    const before = await readdir(colleague.dataDir);
    await assert.rejects(colleagueApi.joinOfficeMesh({ code: typo }), /typo|checksum|not a whole office join code/);
    await assert.rejects(colleagueApi.joinOfficeMesh({ code: 'hello' }), /starts with LM1-/);
    assert.deepEqual(await readdir(colleague.dataDir), before, 'no file written in the data dir');
    assert.equal((await colleagueApi.getSettings()).mesh?.enabled, false);
    assert.equal(colleague.instance.core.meshStatus(), undefined, 'the mesh did not start');
  });

  test('create gives a join code; the colleague joins with it; both hold the same key and accept each other', async () => {
    const created = await ownerApi.createOfficeMesh();
    assert.match(created.joinCode ?? '', /^LM1-/);
    assert.equal(created.settings.mesh?.enabled, true);
    assert.ok(created.keyFile.startsWith(owner.dataDir), 'the key is written in the data dir');
    assert.equal((await stat(created.keyFile)).mode & 0o777, 0o600, 'the key file is owner-only');

    // Pasted as people do: lower case, spaces around.
    const joined = await colleagueApi.joinOfficeMesh({ code: `  ${created.joinCode!.toLowerCase()} ` });
    assert.equal(joined.officeId, created.officeId);
    assert.equal(joined.joinCode, undefined, 'a joiner is not handed the key back');
    assert.ok(joined.keyFile.startsWith(colleague.dataDir));
    assert.equal((await stat(joined.keyFile)).mode & 0o777, 0o600);
    assert.equal((await readOfficeKeyFile(joined.keyFile)).toCode(), (await readOfficeKeyFile(created.keyFile)).toCode(), 'the same key on both');

    await waitFor(() => livePeers(owner) === 1 && livePeers(colleague) === 1, 'each accepts the other as a member');

    // Joining again (say after leaving) reuses the file: never a second copy, never an overwrite.
    const again = await colleagueApi.joinOfficeMesh({ code: created.joinCode! });
    assert.equal(again.keyFile, joined.keyFile);
    assert.equal((await readdir(colleague.dataDir)).filter((name) => name.endsWith('.key')).length, 1);
    // The settings carry a file path, never the key or its code.
    assert.equal(JSON.stringify(await colleagueApi.getSettings()).includes(created.joinCode!), false);
    assert.equal((await readFile(joined.keyFile, 'utf8')).includes(created.joinCode!), true);
  });

  test('leave turns the mesh off and keeps the key file', async () => {
    const settings = await colleagueApi.leaveOfficeMesh();
    assert.equal(settings.mesh?.enabled, false);
    await waitFor(() => colleague.instance.core.meshStatus() === undefined, 'leaving stops the mesh');
    assert.equal((await readdir(colleague.dataDir)).filter((name) => name.endsWith('.key')).length, 1);
  });
});

