/**
 * Core's one blob pipeline (issue 14): single flight across pulls and
 * prefetch, a Range on a chunked upstream, resumable transfers, sources
 * plugged in beside the upstream, and what the pacer is told about every
 * byte. The upstream is the loopback fault registry: it records every request
 * with its Range and can send a chunked body or a trickle, which the real
 * docker-registry cannot be made to do. Everything asserted is counted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { BlobFetcher, type BlobHandle } from '../../src-main/core/fetch/blob-fetcher.js';
import type { BlobBytes, BlobSource, BlobWant } from '../../src-main/core/fetch/blob-source.js';
import { BlobStore } from '../../src-main/core/store/blob-store.js';
import { MetadataIndex } from '../../src-main/core/store/metadata.js';
import { Telemetry } from '../../src-main/core/telemetry/telemetry.js';
import type { PacedKind, Pacer } from '../../src-main/core/upstream/bandwidth.js';
import { RegistryClient } from '../../src-main/core/upstream/registry-client.js';
import type { TransferStatus } from '../../src-main/api/types.js';
import { startFaultUpstream, type FaultUpstream } from '../support/fault-upstream.js';
import { get, testBytes } from '../support/http.js';
import { startLayover, type LayoverUnderTest } from '../support/layover.js';
import { makeTempDir, removeTempDir, withTimeout } from '../support/process.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const REPOSITORY = 'library/app';

/** A pacer that records what it is told, and can stop a transfer once (as a paused job or a yield does). */
class RecordingPacer implements Pacer {
  readonly chunks: Array<{ bytes: number; kind: PacedKind; registry: string }> = [];
  readonly pullTransfers: Array<{ registry: string; id: string; done: boolean }> = [];
  stopAfterBytes?: number;

  async pace(bytes: number, kind: PacedKind, registry: string): Promise<void> {
    if (this.stopAfterBytes !== undefined && this.bytes() >= this.stopAfterBytes) {
      this.stopAfterBytes = undefined;
      throw new Error('stopped by the pacer');
    }
    this.chunks.push({ bytes, kind, registry });
  }

  notePullTransfer(registry: string, id: string, done: boolean): void {
    this.pullTransfers.push({ registry, id, done });
  }

  bytes(filter: { kind?: PacedKind; registry?: string } = {}): number {
    return this.chunks.filter((c) => (!filter.kind || c.kind === filter.kind) && (!filter.registry || c.registry === filter.registry)).reduce((sum, c) => sum + c.bytes, 0);
  }
}

/** A fetcher of its own over a real store and index in a temp dir, with the pacer under test. */
async function standaloneFetcher(pacer: Pacer) {
  const dir = await makeTempDir('layover-pipeline');
  const metadata = new MetadataIndex(dir);
  await metadata.load();
  const store = new BlobStore(dir, metadata);
  await store.open();
  const telemetry = new Telemetry();
  return {
    store, telemetry, fetcher: new BlobFetcher(store, metadata, telemetry, pacer),
    close: async () => {
      await metadata.close();
      await removeTempDir(dir);
    },
  };
}

/** A source that holds one blob and sends `parts` of it from the offset asked, then fails if told to. */
function memorySource(blob: Buffer, digest: string, options: { failAt?: number; corrupt?: boolean; untrusted?: boolean } = {}) {
  const rejected: string[] = [];
  const failed: string[] = [];
  const asked: BlobWant[] = [];
  const source: BlobSource = {
    name: 'memory peer',
    kind: 'peer',
    async open(want): Promise<BlobBytes | undefined> {
      asked.push(want);
      if (want.digest !== digest) return undefined;
      const bytes = options.corrupt ? Buffer.from(blob.map((byte, i) => (i === 7 ? byte ^ 0xff : byte))) : blob;
      const end = options.failAt ?? bytes.length;
      async function* body() {
        for (let at = want.offset; at < end; at += 64 * KiB) yield bytes.subarray(at, Math.min(end, at + 64 * KiB));
        if (options.failAt !== undefined) throw new Error('the peer went away');
      }
      return { start: want.offset, size: blob.length, body: body(), cancel: () => undefined, from: 'memory' };
    },
    rejected: (d, reason) => void rejected.push(`${d}: ${reason.message}`),
    failed: (d, reason) => void failed.push(`${d}: ${reason.message}`),
    ...(options.untrusted ? { untrusted: true } : {}),
  };
  return { source, rejected, failed, asked };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i > 6000) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('one blob pipeline', () => {
  let upstream: FaultUpstream;
  let layover: LayoverUnderTest;
  let hub: RegistryClient;

  before(async () => {
    upstream = await startFaultUpstream();
    layover = await startLayover({ upstream: upstream.url });
    hub = new RegistryClient({ name: 'docker.io', endpoints: [{ url: upstream.url }] });
  });
  after(async () => {
    await hub?.close();
    await layover?.stop();
    await upstream?.stop();
  });

  const blobGets = (digest: string) => upstream.requests.filter((r) => r.method === 'GET' && r.path.endsWith(digest));

  test('a Range on a chunked upstream follows the one transfer: one upstream GET, exact bytes', async () => {
    const blob = testBytes(512 * KiB, 21);
    const digest = upstream.addBlob(blob);
    upstream.setFault(digest, { kind: 'chunked', bytesPerSecond: 2 * MiB });
    const response = await get(`${layover.url}/v2/${REPOSITORY}/blobs/${digest}`, { range: 'bytes=1000-1999' });
    assert.equal(response.status, 206);
    assert.equal(response.headers['x-layover-cache'], 'miss', 'served by the transfer this request started, not by a second open of the stored blob');
    assert.equal(response.headers['content-range'], `bytes 1000-1999/${blob.length}`);
    assert.deepEqual(response.body, blob.subarray(1000, 2000));
    assert.equal(blobGets(digest).length, 1, 'the blob was asked from the upstream once');
  });

  test('a pull joins the resumable prefetch transfer of its blob: one upstream GET, reported as a pull, nothing left partial', async () => {
    const blob = testBytes(2 * MiB, 22);
    const digest = upstream.addBlob(blob);
    upstream.setFault(digest, { kind: 'trickle', bytesPerSecond: 2 * MiB });
    const { core } = layover.instance;
    const client = core.router.default;
    const kinds: string[] = [];
    const onTransfer = (transfer: TransferStatus, done: boolean) => {
      if (transfer.digest === digest && done) kinds.push(transfer.kind);
    };
    core.telemetry.on('transfer', onTransfer);
    try {
      // An interruptible prefetch stops while a pull of its registry is recent: the earlier tests' pulls must be over
      // (on a loaded machine their ends can land after this test starts), or the prefetch would stop on them.
      await core.bandwidth.whenPullsEnd(client.name);
      const prefetch = core.bandwidth.runPrefetch({ registry: client.name, interruptible: true }, async () => {
        const handle = await core.blobs.open({ client, repository: REPOSITORY, digest, kind: 'prefetch', size: blob.length, resumable: true });
        await handle.complete();
      });
      await until(() => core.telemetry.activeTransfers().some((t) => t.digest === digest && t.bytesDone > 0), 'prefetch moving bytes');
      const pulled = await get(`${layover.url}/v2/${REPOSITORY}/blobs/${digest}`);
      await prefetch;
      assert.equal(pulled.status, 200);
      assert.deepEqual(pulled.body, blob);
      assert.equal(blobGets(digest).length, 1, 'one transfer served the prefetch and the pull');
      assert.deepEqual(kinds, ['pull'], 'the transfer ended as a pull: a client waited on it');
      assert.equal(await core.blobs.partials.size(digest), 0, 'the partial file went into the store');
      assert.equal(await core.store.sizeOf(digest), blob.length);
    } finally {
      core.telemetry.off('transfer', onTransfer);
    }
  });

  test('a source plugged in beside the upstream: its bytes first, the rest from the upstream by Range, paced as peer and prefetch', async () => {
    const blob = testBytes(MiB, 23);
    const digest = upstream.addBlob(blob);
    const pacer = new RecordingPacer();
    const standalone = await standaloneFetcher(pacer);
    try {
      const half = 512 * KiB;
      const peer = memorySource(blob, digest, { failAt: half });
      standalone.fetcher.addSources(() => [peer.source]);
      const handle = await standalone.fetcher.open({ client: hub, repository: REPOSITORY, digest, kind: 'prefetch', size: blob.length, resumable: true });
      await handle.complete();
      assert.deepEqual(await standalone.store.read(digest), blob);
      assert.deepEqual(blobGets(digest).map((r) => r.range), [`bytes=${half}-`], 'the upstream was asked only for the rest');
      assert.equal(pacer.bytes({ kind: 'peer' }), half);
      assert.equal(pacer.bytes({ kind: 'prefetch', registry: 'docker.io' }), blob.length - half);
      assert.ok(pacer.chunks.every((c) => c.registry === 'docker.io'), 'every chunk names its registry');
      assert.deepEqual(pacer.pullTransfers, [], 'a prefetch is no pull');
    } finally {
      await standalone.close();
    }
  });

  test('bytes a source got wrong are thrown away and the source is told; the next open fetches the blob whole', async () => {
    const blob = testBytes(300 * KiB, 24);
    const digest = upstream.addBlob(blob);
    const standalone = await standaloneFetcher(new RecordingPacer());
    try {
      const peer = memorySource(blob, digest, { corrupt: true });
      const remove = standalone.fetcher.addSources(() => [peer.source]);
      const handle = await standalone.fetcher.open({ client: hub, repository: REPOSITORY, digest, kind: 'pull' });
      await assert.rejects(handle.complete(), /digest mismatch/);
      assert.equal(peer.rejected.length, 1, 'the source that sent the bytes heard they were wrong');
      assert.equal(await standalone.store.sizeOf(digest), undefined, 'nothing was stored');
      remove();
      const again = await standalone.fetcher.open({ client: hub, repository: REPOSITORY, digest, kind: 'pull' });
      await again.complete();
      assert.deepEqual(await standalone.store.read(digest), blob);
      assert.equal(blobGets(digest).length, 1, 'the upstream was asked once, after the source was removed');
    } finally {
      await standalone.close();
    }
  });

  test('two registries pulling at once: every chunk is charged to its own registry, each pull transfer starts and ends', async () => {
    const blobs = [testBytes(700 * KiB, 25), testBytes(900 * KiB, 26)];
    const digests = blobs.map((blob) => upstream.addBlob(blob));
    for (const digest of digests) upstream.setFault(digest, { kind: 'trickle', bytesPerSecond: 4 * MiB });
    const pacer = new RecordingPacer();
    const standalone = await standaloneFetcher(pacer);
    const clients = ['a.example', 'b.example'].map((name) => new RegistryClient({ name, endpoints: [{ url: upstream.url }] }));
    try {
      await Promise.all(digests.map(async (digest, i) => (await standalone.fetcher.open({ client: clients[i]!, repository: REPOSITORY, digest, kind: 'pull' })).complete()));
      assert.equal(pacer.bytes({ kind: 'pull', registry: 'a.example' }), blobs[0]!.length);
      assert.equal(pacer.bytes({ kind: 'pull', registry: 'b.example' }), blobs[1]!.length);
      for (const registry of ['a.example', 'b.example']) {
        const seen = pacer.pullTransfers.filter((t) => t.registry === registry);
        assert.deepEqual(seen.map((t) => t.done), [false, true], `${registry}: its pull transfer started, then ended`);
        assert.equal(seen[0]!.id, seen[1]!.id);
      }
    } finally {
      await Promise.all(clients.map((client) => client.close()));
      await standalone.close();
    }
  });

  test('a prefetch chunk the pacer holds back goes at once when a pull joins its transfer', async () => {
    const blob = testBytes(MiB, 28);
    const digest = upstream.addBlob(blob);
    const held: number[] = [];
    // Holds every prefetch chunk for good (a link busy with pulls, a tight cap): only the join can move them.
    const pacer: Pacer = {
      pace: (bytes, kind) => (kind === 'prefetch' ? new Promise<void>(() => void held.push(bytes)) : Promise.resolve()),
      notePullTransfer: () => undefined,
    };
    const standalone = await standaloneFetcher(pacer);
    try {
      const request = { client: hub, repository: REPOSITORY, digest, size: blob.length };
      const prefetch = await standalone.fetcher.open({ ...request, kind: 'prefetch' });
      await until(() => held.length > 0, 'the first prefetch chunk held');
      const pull = await standalone.fetcher.open({ ...request, kind: 'pull' });
      assert.notEqual(await withTimeout(pull.complete(), 60_000), 'timeout', 'the joined transfer finished');
      await prefetch.complete();
      assert.deepEqual(await standalone.store.read(digest), blob);
      assert.deepEqual(held.length, 1, 'only the chunk before the join was a prefetch chunk');
      assert.equal(blobGets(digest).length, 1);
    } finally {
      await standalone.close();
    }
  });

  test('a resumable transfer the pacer stops keeps its bytes; the next one continues them with Range', async () => {
    const blob = testBytes(2 * MiB, 27);
    const digest = upstream.addBlob(blob);
    const pacer = new RecordingPacer();
    pacer.stopAfterBytes = 256 * KiB;
    const standalone = await standaloneFetcher(pacer);
    try {
      const request = { client: hub, repository: REPOSITORY, digest, kind: 'prefetch' as const, size: blob.length, resumable: true };
      await assert.rejects((await standalone.fetcher.open(request)).complete(), /stopped by the pacer/);
      const kept = await standalone.fetcher.partials.size(digest);
      assert.ok(kept >= 256 * KiB && kept < blob.length, `bytes were kept (${kept})`);
      assert.equal(standalone.fetcher.isInFlight(digest), false, 'the stopped transfer ended');
      await (await standalone.fetcher.open(request)).complete();
      assert.deepEqual(await standalone.store.read(digest), blob);
      assert.deepEqual(blobGets(digest).map((r) => r.range), [undefined, `bytes=${kept}-`]);
      assert.equal(await standalone.fetcher.partials.size(digest), 0);
    } finally {
      await standalone.close();
    }
  });

  test('kept bytes the upstream will not continue (HTTP 416) are thrown away, and the next try starts over', async () => {
    const blob = testBytes(MiB, 29);
    const digest = upstream.addBlob(blob);
    const pacer = new RecordingPacer();
    pacer.stopAfterBytes = 128 * KiB;
    const standalone = await standaloneFetcher(pacer);
    try {
      const request = { client: hub, repository: REPOSITORY, digest, kind: 'prefetch' as const, size: blob.length, resumable: true };
      await assert.rejects((await standalone.fetcher.open(request)).complete(), /stopped by the pacer/);
      const kept = await standalone.fetcher.partials.size(digest);
      assert.ok(kept > 0);
      upstream.setFault(digest, { kind: 'status', status: 416 }, 1);
      await assert.rejects(standalone.fetcher.open(request), /resume .* with HTTP 416; starting it over/);
      assert.equal(await standalone.fetcher.partials.size(digest), 0, 'the kept bytes are gone');
      await (await standalone.fetcher.open(request)).complete();
      assert.deepEqual(await standalone.store.read(digest), blob);
      assert.deepEqual(blobGets(digest).map((r) => r.range), [undefined, `bytes=${kept}-`, undefined]);
    } finally {
      await standalone.close();
    }
  });

  test('an untrusted source (a peer) that breaks off midway under a pull: the upstream continues by Range, the client gets exact bytes', async () => {
    const blob = testBytes(MiB, 31);
    const digest = upstream.addBlob(blob);
    const standalone = await standaloneFetcher(new RecordingPacer());
    try {
      const half = 384 * KiB;
      const peer = memorySource(blob, digest, { failAt: half, untrusted: true });
      const sizes: number[] = [];
      // A provider that takes its time (the mesh elects) and asks the upstream first (access is never widened).
      standalone.fetcher.addSources(async (query) => {
        sizes.push(await query.upstreamSize());
        return [peer.source];
      });
      const handle = await standalone.fetcher.open({ client: hub, repository: REPOSITORY, digest, kind: 'pull' });
      assert.deepEqual(await collect(handle), blob, 'the client got exact bytes, no error');
      assert.deepEqual(sizes, [blob.length], 'the provider learned the size from the upstream HEAD');
      assert.deepEqual(blobGets(digest).map((r) => r.range), [`bytes=${half}-`], 'the upstream was asked only for the rest');
      assert.equal(peer.failed.length, 1, 'the source heard it broke off');
      assert.deepEqual(await standalone.store.read(digest), blob);
    } finally {
      await standalone.close();
    }
  });

  test('an untrusted source that sends a wrong byte: no client sees it, the source is told, and the blob comes whole from the upstream', async () => {
    const blob = testBytes(300 * KiB, 32);
    const digest = upstream.addBlob(blob);
    const standalone = await standaloneFetcher(new RecordingPacer());
    try {
      const peer = memorySource(blob, digest, { corrupt: true, untrusted: true });
      standalone.fetcher.addSources(() => [peer.source]);
      const handle = await standalone.fetcher.open({ client: hub, repository: REPOSITORY, digest, kind: 'pull' });
      assert.deepEqual(await collect(handle), blob, 'the client got exact bytes, no error');
      assert.equal(peer.rejected.length, 1, 'the source that sent the bytes heard they were wrong');
      assert.deepEqual(blobGets(digest).map((r) => r.range), [undefined], 'the upstream was asked once, for the whole blob');
      assert.deepEqual(await standalone.store.read(digest), blob);
    } finally {
      await standalone.close();
    }
  });
});

/** What a client following the handle receives, whole. */
async function collect(handle: BlobHandle): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => { chunks.push(chunk); done(); } });
  await handle.sendTo(sink, 0, Infinity, () => undefined);
  return Buffer.concat(chunks);
}
