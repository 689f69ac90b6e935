/**
 * Serving peers never starves this laptop's own pulls (issue 15: "a cap for
 * serving peers in Settings"). The mesh listener (createPeerServer) serves a
 * real blob file over loopback to signed members, paced by the mesh's
 * ServingPacer, which reads this laptop's own pulls from a real
 * BandwidthBudget's grants. The local pull's chunks are fed to the budget as
 * core's blob fetcher does (`pace(bytes, 'pull', registry)`). Asserted on what
 * is counted, never on how long it took:
 * - every byte sent to peers is charged to the cap, and over every span
 *   between two charges the bytes stay within burst + rate × span (a loaded
 *   machine only makes spans longer);
 * - while the local pull's chunks flow, serving lets through only keep-alive
 *   chunks (and at most the one chunk already admitted when the pull began);
 *   the pull's chunks never wait; serving finishes after, with exact bytes;
 * - a follower of a blob this laptop is still fetching keeps to the cap but
 *   does not step aside (its bytes come no faster than the WAN fetch).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { BandwidthBudget, type Grant } from '../../src-main/core/upstream/bandwidth.js';
import { OfficeKey } from '../../src-main/mesh/office-key.js';
import { createPeerServer } from '../../src-main/mesh/peer-server.js';
import { ServingPacer, type ServingGrant } from '../../src-main/mesh/serving-pacer.js';
import { signRequest } from '../../src-main/mesh/signing.js';
import { makeTempDir, removeTempDir } from '../support/process.js';
import { sha256 } from '../support/http.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const CAP = 4 * MiB;
/** Each wait is asked in whole milliseconds (rounded up), and a timer may fire a little early. */
const ROUNDING_MS_PER_CHARGE = 2;

describe('serving peers under a cap, after this laptop’s own pulls', () => {
  let work: string;
  let blob: Buffer;
  let digest: string;
  let file: string;
  const key = OfficeKey.generate();
  const servers: Server[] = [];

  before(async () => {
    work = await makeTempDir('mesh-serving-cap');
    blob = randomBytes(10 * MiB); // 10 chunks as the listener reads them (1 MiB each)
    digest = sha256(blob);
    file = join(work, 'blob');
    await writeFile(file, blob);
  });
  after(async () => {
    for (const server of servers) await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
    if (work) await removeTempDir(work);
  });

  async function serve(pacer: ServingPacer): Promise<number> {
    const server = createPeerServer(key, {
      self: 'server',
      who: async () => ({ member: 'server', state: 'none' }),
      blob: async (asked) => (asked === digest ? { file, size: blob.length } : undefined),
      servingCap: () => CAP,
      pacer,
      onRefused: () => undefined,
      onSent: () => undefined,
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return (server.address() as AddressInfo).port;
  }

  /** One member's signed GET of the blob; resolves with the bytes it got. */
  function fetchBlob(port: number): Promise<Buffer> {
    const path = `/mesh/blobs/${digest}`;
    return new Promise((resolve, reject) => {
      request({ host: '127.0.0.1', port, path, headers: signRequest(key, 'GET', path, randomBytes(8).toString('hex')) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`status ${res.statusCode}`))));
        res.on('error', reject);
      }).on('error', reject).end();
    });
  }

  test('every byte sent to peers is charged to the cap, and the cap holds over every span', async () => {
    const pacer = new ServingPacer({ cap: () => CAP });
    const grants: ServingGrant[] = [];
    pacer.onGrant((grant) => grants.push(grant));
    const port = await serve(pacer);
    const got = await Promise.all([fetchBlob(port), fetchBlob(port)]);
    for (const bytes of got) assert.equal(sha256(bytes), digest, 'each member got exact bytes');
    assert.equal(grants.reduce((sum, grant) => sum + grant.bytes, 0), 2 * blob.length, 'all bytes to both members were charged, together');
    for (const grant of grants) assert.equal(grant.cap?.rate, CAP);
    for (let i = 0; i < grants.length; i++) {
      for (let j = i + 1; j < grants.length; j++) {
        const bytes = grants.slice(i + 1, j + 1).reduce((sum, grant) => sum + grant.bytes, 0);
        const span = grants[j]!.at - grants[i]!.at + ROUNDING_MS_PER_CHARGE * (j - i);
        const allowed = grants[j]!.cap!.burst + (CAP * span) / 1000 + grants[j]!.bytes;
        assert.ok(bytes <= allowed, `${bytes} bytes between grants ${i} and ${j} (${span} ms) > ${allowed}`);
      }
    }
    pacer.stop();
  });

  test('while this laptop’s own pull flows, serving steps aside (keep-alive only) and carries on after it', async () => {
    const budget = new BandwidthBudget({ limitOf: () => undefined });
    const pacer = new ServingPacer({ cap: () => CAP, pulls: budget });
    const events: Array<{ kind: 'pull'; grant: Grant } | { kind: 'serve'; grant: ServingGrant }> = [];
    budget.onGrant((grant) => events.push({ kind: 'pull', grant }));
    pacer.onGrant((grant) => events.push({ kind: 'serve', grant }));
    const port = await serve(pacer);
    const serving = fetchBlob(port);
    // The pull starts once serving is under way, as a peer's transfer would be when the user pulls.
    await new Promise<void>((resolve) => {
      const off = pacer.onGrant(() => {
        off();
        resolve();
      });
    });
    // The local pull: 150 chunks of 16 KiB as core's fetcher passes them to the budget, one per tick of 15 ms.
    const pullChunks = 150;
    for (let index = 0; index < pullChunks; index++) {
      await budget.pace(16 * KiB, 'pull', 'docker.io');
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    assert.equal(sha256(await serving), digest, 'the member got exact bytes in the end');

    const kinds = events.map((event) => event.kind);
    const firstPull = kinds.indexOf('pull');
    const lastPull = kinds.lastIndexOf('pull');
    assert.equal(kinds.filter((kind) => kind === 'pull').length, pullChunks, 'every pull chunk passed');
    const during = events.slice(firstPull, lastPull + 1).flatMap((event) => (event.kind === 'serve' ? [event.grant] : []));
    const admitted = during.filter((grant) => !grant.keepAlive);
    assert.ok(admitted.length <= 1, `only the chunk already admitted when the pull began went out beside it (${admitted.length})`);
    const keepAlives = during.filter((grant) => grant.keepAlive);
    const pullSpanMs = events[lastPull]!.grant.at - events[firstPull]!.grant.at;
    assert.ok(keepAlives.length <= Math.ceil(pullSpanMs / 2_000) + 1, `${keepAlives.length} keep-alive chunks in ${pullSpanMs} ms: one per keep-alive interval`);
    const servedDuring = during.reduce((sum, grant) => sum + grant.bytes, 0);
    // At the cap, serving would have sent CAP × span meanwhile; it sent the admitted chunk and the keep-alives.
    assert.ok(servedDuring < (CAP * pullSpanMs) / 1000 / 2, `${servedDuring} bytes served beside the pull over ${pullSpanMs} ms, the cap allowing ${(CAP * pullSpanMs) / 1000}`);
    const servedAfter = events.slice(lastPull + 1).flatMap((event) => (event.kind === 'serve' ? [event.grant.bytes] : [])).reduce((a, b) => a + b, 0);
    const servedBefore = events.slice(0, firstPull).flatMap((event) => (event.kind === 'serve' ? [event.grant.bytes] : [])).reduce((a, b) => a + b, 0);
    assert.equal(servedBefore + servedDuring + servedAfter, blob.length, 'every byte served was granted once');
    assert.ok(servedAfter > 0, 'serving carried on after the pull');
    pacer.stop();
  });

  test('a follower of a blob still arriving from the WAN keeps to the cap but is not held back by that pull', async () => {
    const budget = new BandwidthBudget({ limitOf: () => undefined });
    // A long hold-off: the pull counts as flowing for the whole test, however slow the machine.
    const pacer = new ServingPacer({ cap: () => CAP, pulls: budget, pullHoldoffMs: 60_000, keepAliveMs: 100 });
    const grants: ServingGrant[] = [];
    pacer.onGrant((grant) => grants.push(grant));
    await budget.pace(16 * KiB, 'pull', 'docker.io');
    assert.ok(pacer.isPullActive());
    for (let chunk = 0; chunk < 4; chunk++) await pacer.pace(64 * KiB, { following: true });
    await pacer.pace(64 * KiB); // a stored blob's chunk: it steps aside and goes as a keep-alive
    assert.deepEqual(grants.map((grant) => Boolean(grant.keepAlive)), [false, false, false, false, true]);
    for (const grant of grants) assert.equal(grant.cap?.rate, CAP, 'every chunk was charged to the cap');
    pacer.stop();
  });
});
