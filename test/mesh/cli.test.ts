/**
 * `layover mesh init --out FILE` and `layover mesh join CODE --out FILE`, the
 * command-line contract, through the compiled CLI; and `layover serve --mesh
 * FILE --mesh-listen HOST:PORT --peer HOST:PORT`: the listener answers members
 * there, and /metrics shows the mesh.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'node:http';
import { OfficeKey, readOfficeKeyFile } from '../../src-main/app/mesh-wiring.js';
import { signRequest } from '../../src-main/mesh/signing.js';
import { PROBE_DIGEST } from '../../src-main/mesh/peer-protocol.js';
import { adminHeaders } from '../support/layover.js';
import { get } from '../support/http.js';
import { freePort, LOOPBACK } from '../support/ports.js';
import { makeTempDir, removeTempDir, runCommand, startProcess } from '../support/process.js';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'layover.js');

describe('layover mesh init and join', () => {
  let work: string;
  before(async () => {
    work = await makeTempDir('mesh-cli');
  });
  after(async () => {
    if (work) await removeTempDir(work);
  });

  const layover = (...args: string[]) => runCommand(process.execPath, [CLI, ...args], { timeoutMs: 60_000 });

  test('init writes a new key owner-only and prints the join code; join with that code makes the same office', async () => {
    const keyFile = join(work, 'office.key');
    const init = await layover('mesh', 'init', '--out', keyFile);
    assert.equal(init.code, 0, init.stderr);
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    const code = /layover mesh join (LM1-[0-9A-Z-]+) --out/.exec(init.stdout)?.[1];
    assert.ok(code, `the join code is printed:\n${init.stdout}`);
    assert.match(init.stdout, new RegExp(`layover serve --mesh ${keyFile}`));
    const joined = join(work, 'joined.key');
    const join_ = await layover('mesh', 'join', code!.toLowerCase().replace(/-/g, ' - '), '--out', joined);
    assert.equal(join_.code, 0, join_.stderr);
    assert.equal((await stat(joined)).mode & 0o777, 0o600);
    const [a, b] = [await readOfficeKeyFile(keyFile), await readOfficeKeyFile(joined)];
    assert.equal(a.officeId, b.officeId);
    assert.equal(a.sign('x'), b.sign('x'), 'the same key, not only the same name');
    assert.notEqual(OfficeKey.generate().officeId, a.officeId);
  });

  test('a mistyped code, a code cut short and an existing file are refused with one line, and nothing is written or lost', async () => {
    const code = OfficeKey.generate().toCode();
    // A character in the middle (the last one carries padding bits a typo might not touch).
    const typo = `${code.slice(0, 10)}${code[10] === 'Z' ? 'Y' : 'Z'}${code.slice(11)}`;
    const existing = join(work, 'existing.key');
    await writeFile(existing, 'keep me', { mode: 0o600 });
    const cases: Array<[string[], RegExp]> = [
      [['mesh', 'join', typo, '--out', join(work, 'typo.key')], /^layover: the office join code has a typo/],
      [['mesh', 'join', code.slice(0, 20), '--out', join(work, 'short.key')], /^layover: this is not a whole office join code/],
      [['mesh', 'join', 'hello', '--out', join(work, 'hello.key')], /^layover: an office join code starts with LM1-/],
      [['mesh', 'init', '--out', existing], /already exists: an office key is never overwritten/],
      [['mesh', 'join', code, '--out', existing], /already exists: an office key is never overwritten/],
    ];
    for (const [args, message] of cases) {
      const result = await layover(...args);
      assert.notEqual(result.code, 0);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr.trim(), message);
    }
    assert.equal(await readFile(existing, 'utf8'), 'keep me');
    await assert.rejects(stat(join(work, 'typo.key')));
  });

  test('serve --mesh FILE --mesh-listen HOST:PORT --peer HOST:PORT: members are answered there, /metrics shows the mesh', async () => {
    const keyFile = join(work, 'serve.key');
    assert.equal((await layover('mesh', 'init', '--out', keyFile)).code, 0);
    const key = await readOfficeKeyFile(keyFile);
    const [port, adminPort, meshPort, deadPeer] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const child = await startProcess({
      name: 'layover serve --mesh', command: process.execPath,
      args: [CLI, 'serve', '--data', join(work, 'data'), '--listen', `${LOOPBACK}:${port}`, '--admin', `${LOOPBACK}:${adminPort}`,
        '--upstream', 'http://127.0.0.1:9', '--mesh', keyFile, '--mesh-listen', `${LOOPBACK}:${meshPort}`, '--peer', `${LOOPBACK}:${deadPeer}`],
      logFile: join(work, 'serve.log'), ready: { kind: 'log', pattern: 'office mesh ready' },
    });
    try {
      const path = `/mesh/who/${PROBE_DIGEST}`;
      const answer = await rawGet(meshPort, path, signRequest(key, 'GET', path, '0123456789abcdef'));
      assert.equal(answer.status, 200);
      assert.equal(JSON.parse(answer.body).state, 'none');
      assert.equal((await rawGet(meshPort, path, signRequest(OfficeKey.generate(), 'GET', path, '0123456789abcdef'))).status, 401);
      const adminUrl = `http://${LOOPBACK}:${adminPort}`;
      const metrics = await get(`${adminUrl}/metrics`, await adminHeaders({ adminUrl }));
      const text = metrics.body.toString();
      for (const name of ['layover_peer_bytes_received_total', 'layover_peer_bytes_sent_total', 'layover_peers', 'layover_peer_errors_total']) {
        assert.match(text, new RegExp(`^${name} \\d+$`, 'm'), `${name} in /metrics`);
      }
      assert.match(text, /^layover_peers 0$/m, 'the static peer that does not answer is not counted');
    } finally {
      await child.stop();
    }
  });
});

function rawGet(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: LOOPBACK, port, path, headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject).end();
  });
}
