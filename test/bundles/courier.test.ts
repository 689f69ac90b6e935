/**
 * Courier bundles (issue 17) with the real parts: Layover A with Debian's
 * docker-registry upstream prefetches a rule and exports it with the real
 * command line; Layover B, on another data dir with no upstream reachable,
 * imports it; a real dockerd pointed at B pulls the image and skopeo copies
 * it; a second export with --have B's inventory leaves out exactly the
 * shared layers. Damaged bundles (a flipped byte, a truncated tar, a path
 * escape, a missing manifest, an unconfigured registry) are refused, named.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { createWriteStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { writeSampleLayout, type SampleLayoutResult } from '../../src-main/demo/sample-images.js';
import type { LayoverApi } from '../../src-main/api/layover-api.js';
import type { LayoverEvent } from '../../src-main/api/types.js';
import { adminClient, startLayover, type LayoverUnderTest } from '../support/layover.js';
import { freePort } from '../support/ports.js';
import { makeTempDir, removeTempDir, runCommand, type RunResult } from '../support/process.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { pushSampleLayout, skopeoCopy } from '../support/skopeo.js';
import { startDockerd, type TestDockerd } from '../support/dockerd.js';
import { ARTIFACT_TYPES, pushArtifact, pushFallbackIndex } from '../referrers/support.js';

const KiB = 1024;
const CLI_MAIN = join(import.meta.dirname, '..', '..', 'src-main', 'cli', 'main.ts');

/** The real command line (the source, run as `layover` runs it from dist). */
function layover(args: string[], input?: Buffer): Promise<RunResult> {
  return runCommand(process.execPath, ['--import', 'tsx', CLI_MAIN, ...args], { env: process.env, timeoutMs: 120_000, ...(input ? { input } : {}) });
}

/** The last line of stdout: the command's JSON result. */
function lastJson<T>(result: RunResult): T {
  try {
    return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as T;
  } catch {
    throw new Error(`${result.command} printed no JSON last line (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}

interface ExportJson { bytes: number; blobs: number; manifests: number; skippedBlobs: number; skippedBytes: number }
interface ImportJson { added: string[]; alreadyPresent: string[]; refused: Array<{ entry: string; reason: string }>; tags: string[] }

async function waitForJobs(api: LayoverApi): Promise<void> {
  for (;;) {
    const jobs = await api.listJobs();
    if (jobs.length > 0 && jobs.every((job) => ['done', 'failed', 'cancelled'].includes(job.state))) {
      assert.deepEqual(jobs.map((job) => [job.state, job.error]), jobs.map(() => ['done', undefined]));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('courier bundles: export from A, import into B with no upstream, pull from B', () => {
  let work: string;
  let upstream: TestRegistry;
  let a: LayoverUnderTest;
  let b: LayoverUnderTest;
  let apiA: LayoverApi;
  let layout: SampleLayoutResult;
  /** An SBOM attached to 1.0 (an OCI referrer, through the spec's tag-schema fallback): its manifest and blobs. */
  let sbom: { manifest: string; manifestBytes: number; blobs: Array<{ digest: string; size: number }> };
  const started: LayoverUnderTest[] = [];
  let dockerd: TestDockerd | undefined;

  before(async () => {
    work = await makeTempDir('bundles');
    layout = await writeSampleLayout(join(work, 'layout'), [
      { tag: '1.0', layers: [{ size: 256 * KiB, seed: 'courier-base' }, { size: 64 * KiB, seed: 'courier-app-1.0' }] },
      { tag: '1.1', layers: [{ size: 256 * KiB, seed: 'courier-base' }, { size: 96 * KiB, seed: 'courier-app-1.1' }] },
    ]);
    upstream = await startRegistry({ name: 'courier-upstream' });
    await pushSampleLayout(layout, { registryHost: upstream.host, repository: 'library/app' });
    const subject = layout.tags.find((t) => t.tag === '1.0')!;
    const content = Buffer.from('{"spdxVersion":"SPDX-2.3","name":"courier"}');
    const artifact = await pushArtifact(upstream.url, 'library/app', {
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size }, artifactType: ARTIFACT_TYPES.sbom, layerMediaType: ARTIFACT_TYPES.sbom, content,
    });
    await pushFallbackIndex(upstream.url, 'library/app', subject.digest, [artifact.descriptor]);
    const empty = Buffer.from('{}');
    sbom = {
      manifest: artifact.descriptor.digest, manifestBytes: artifact.body.length,
      blobs: [{ digest: `sha256:${createHash('sha256').update(empty).digest('hex')}`, size: empty.length }, { digest: artifact.layerDigest, size: content.length }],
    };
    a = await startLayover({ upstream: upstream.url });
    started.push(a);
    // B's upstream is a loopback port nothing listens on: the office with no link.
    b = await startLayover({ upstream: `http://127.0.0.1:${await freePort()}` });
    started.push(b);
    apiA = await adminClient({ adminUrl: a.instance.adminUrl! });
  });
  after(async () => {
    await dockerd?.stop();
    for (const instance of started) await instance.stop().catch(() => undefined);
    await upstream?.destroy();
    if (work) await removeTempDir(work);
  });

  const adminOf = (instance: LayoverUnderTest) => ['--admin', instance.instance.adminUrl!];
  const tagOf = (tag: string) => layout.tags.find((t) => t.tag === tag)!;

  test('A prefetches a rule and exports it with `layover export --rule`: a tar holding exactly the image and its SBOM', async () => {
    await apiA.saveRule({
      id: 'app', registry: 'docker.io', repository: 'library/app', tags: { kind: 'exact', tags: ['1.0'] },
      platforms: 'host', schedule: { kind: 'interval', hours: 24 }, enabled: true,
    });
    await apiA.syncNow({ ruleId: 'app' });
    await waitForJobs(apiA);
    const result = await layover(['export', '--rule', 'app', '--out', join(work, 'app-1.0.tar'), ...adminOf(a)]);
    assert.equal(result.code, 0, result.stderr);
    const exported = lastJson<ExportJson>(result);
    const image = tagOf('1.0');
    const blobs = [image.manifests[0]!.config, ...image.manifests[0]!.layers];
    assert.deepEqual(
      { blobs: exported.blobs, manifests: exported.manifests, skippedBlobs: exported.skippedBlobs, bytes: exported.bytes },
      { blobs: blobs.length + sbom.blobs.length, manifests: 2, skippedBlobs: 0, bytes: image.totalBytes + sbom.manifestBytes + sbom.blobs[0]!.size + sbom.blobs[1]!.size },
    );
    assert.ok((await stat(join(work, 'app-1.0.tar'))).size > image.totalBytes);
    assert.deepEqual((await readdir(work)).filter((name) => name.includes('partial')), [], 'no staging file left beside the bundle');
  });

  test('B, with no upstream, imports it: every blob added, the tag recorded with A\'s confirmation time, pinned', async () => {
    const events: LayoverEvent[] = [];
    const unsubscribe = b.instance.core.onEvent((event) => events.push(event));
    const result = await layover(['import', join(work, 'app-1.0.tar'), '--pin-days', '7', ...adminOf(b)]);
    unsubscribe();
    assert.equal(result.code, 0, result.stderr);
    const imported = lastJson<ImportJson>(result);
    // Every blob came through the core's blob pipeline, and the task's progress went out as events.
    const transferred = events.flatMap((event) => (event.type === 'transfer' && event.done ? [event.transfer.digest] : []));
    assert.deepEqual(new Set(transferred), new Set(imported.added));
    const tasks = events.flatMap((event) => (event.type === 'bundle' ? [event.task] : []));
    assert.equal(tasks[0]?.state, 'running');
    assert.equal(tasks.at(-1)?.state, 'done');
    assert.deepEqual(tasks.at(-1)?.imported?.added, imported.added);
    for (let i = 1; i < tasks.length; i += 1) assert.ok(tasks[i]!.bytesDone >= tasks[i - 1]!.bytesDone, 'progress only grows');
    const image = tagOf('1.0');
    assert.deepEqual(imported.refused, []);
    assert.deepEqual(imported.alreadyPresent, []);
    assert.deepEqual(new Set(imported.added), new Set([...image.blobs.map((blob) => blob.digest), sbom.manifest, ...sbom.blobs.map((blob) => blob.digest)]));
    assert.deepEqual(imported.tags, ['docker.io/library/app:1.0']);
    const referrersAtA = a.instance.core.metadata.getReferrers('docker.io', 'library/app', image.digest);
    assert.deepEqual(referrersAtA?.descriptors.map((d) => d.digest), [sbom.manifest]);
    assert.deepEqual(b.instance.core.metadata.getReferrers('docker.io', 'library/app', image.digest), referrersAtA, 'the SBOM list, with A\'s confirmation time');
    assert.equal(b.instance.core.metadata.getManifest(sbom.manifest)?.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    const confirmedAtA = a.instance.core.metadata.getTag('docker.io', 'library/app', '1.0')!.checkedAt;
    assert.deepEqual(b.instance.core.metadata.getTag('docker.io', 'library/app', '1.0'), { digest: image.digest, mediaType: image.mediaType, checkedAt: confirmedAtA });
    for (const blob of image.blobs) assert.ok(b.instance.core.pins.isPinned(blob.digest), `${blob.digest} is pinned`);
    assert.ok(!b.instance.core.pins.isPinned(blob0(image), Date.now() + 8 * 24 * 3600 * 1000), 'the pin ends after 7 days');
  });

  test('on a terminal, export shows a progress bar', async () => {
    // util-linux script(1) gives the command a pseudo-terminal, as a person's shell would.
    const command = [process.execPath, '--import', 'tsx', CLI_MAIN, 'export', 'library/app:1.0', '--out', join(work, 'tty-export'), ...adminOf(a)].join(' ');
    const result = await runCommand('script', ['-qec', command, '/dev/null'], { env: process.env, timeoutMs: 120_000 });
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /export [\u2588\u2591]{30} 100% \| .* of .* \| \d+\/\d+ blobs/, 'a bar that reached 100%');
  });

  test('export refuses with one line a person can act on: no selection, an existing target, an unknown rule', async () => {
    const none = await layover(['export', '--out', join(work, 'none.tar'), ...adminOf(a)]);
    assert.equal(none.stderr.trim(), 'layover: name what to export: a repository (with --tags, --platform), --rule ID, or --all-rules: one of them');
    const existing = await layover(['export', 'library/app:1.0', '--out', join(work, 'app-1.0.tar'), ...adminOf(a)]);
    assert.equal(existing.stderr.trim(), `layover: ${join(work, 'app-1.0.tar')} already exists: choose a new name, or remove it first`);
    const unknownRule = await layover(['export', '--rule', 'nope', '--out', join(work, 'nope.tar'), ...adminOf(a)]);
    assert.equal(unknownRule.stderr.trim(), 'layover: no prefetch rule named nope: the rules are app');
    for (const result of [none, existing, unknownRule]) assert.notEqual(result.code, 0);
    assert.deepEqual((await readdir(work)).filter((name) => /^(none|app|nope)\.tar|partial/.test(name) && name !== 'app-1.0.tar'), []);
  });

  test('importing again skips everything already stored (how an interrupted import resumes)', async () => {
    const result = await layover(['import', join(work, 'app-1.0.tar'), ...adminOf(b)]);
    assert.equal(result.code, 0, result.stderr);
    const imported = lastJson<ImportJson>(result);
    assert.deepEqual(imported.added, []);
    assert.equal(imported.alreadyPresent.length, tagOf('1.0').blobs.length + 1 + sbom.blobs.length);
  });

  test('a real dockerd pointed at B pulls the image, and skopeo copies it, with no upstream at all', async () => {
    dockerd = await startDockerd({ daemonConfig: { 'registry-mirrors': [b.url] } });
    await dockerd.dockerChecked(['pull', 'app:1.0'], { timeoutMs: 120_000 });
    const images = await dockerd.dockerChecked(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.match(images.stdout, /^app:1\.0$/m);
    const copied = await skopeoCopy({ source: `docker://${b.host}/library/app:1.0`, destination: `dir:${join(work, 'copied')}`, srcTlsVerify: false });
    assert.equal(copied.digest, tagOf('1.0').digest);
  });

  test('export with --have B\'s inventory leaves out exactly the shared layers', async () => {
    await apiA.prefetch({ repository: 'library/app', tags: { kind: 'exact', tags: ['1.1'] } });
    await waitForJobs(apiA);
    const inventory = await layover(['inventory', '--out', join(work, 'b-inventory.json'), ...adminOf(b)]);
    assert.equal(inventory.code, 0, inventory.stderr);
    const full = await layover(['export', 'library/app:1.1', '--out', join(work, 'app-1.1-full'), ...adminOf(a)]);
    assert.equal(full.code, 0, full.stderr);
    const slim = await layover(['export', 'library/app:1.1', '--out', join(work, 'app-1.1.tar'), '--have', join(work, 'b-inventory.json'), ...adminOf(a)]);
    assert.equal(slim.code, 0, slim.stderr);
    const [fullJson, slimJson] = [lastJson<ExportJson>(full), lastJson<ExportJson>(slim)];
    const base = tagOf('1.0').manifests[0]!.layers[0]!;
    assert.equal(base.digest, tagOf('1.1').manifests[0]!.layers[0]!.digest, 'the base layer is shared');
    assert.equal(slimJson.skippedBlobs, 1);
    assert.equal(slimJson.skippedBytes, base.size);
    assert.equal(fullJson.bytes - slimJson.bytes, base.size, 'smaller by exactly the shared layer');
    assert.equal(fullJson.blobs - slimJson.blobs, 1);

    const imported = await layover(['import', join(work, 'app-1.1.tar'), ...adminOf(b)]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.deepEqual(lastJson<ImportJson>(imported).tags, ['docker.io/library/app:1.1']);
    await dockerd!.dockerChecked(['pull', 'app:1.1'], { timeoutMs: 120_000 });
  });

  test('interchange: skopeo reads a bundle directory, and a layout skopeo wrote imports', async () => {
    const fromBundle = await skopeoCopy({ source: `oci:${join(work, 'app-1.1-full')}:library/app:1.1`, destination: `dir:${join(work, 'from-bundle')}` });
    assert.equal(fromBundle.digest, tagOf('1.1').digest);
    const fromArchive = await skopeoCopy({ source: `oci-archive:${join(work, 'app-1.0.tar')}:library/app:1.0`, destination: `dir:${join(work, 'from-archive')}` });
    assert.equal(fromArchive.digest, tagOf('1.0').digest);
    const c = await startLayover({ upstream: `http://127.0.0.1:${await freePort()}` });
    started.push(c);
    await skopeoCopy({ source: `docker://${upstream.host}/library/app:1.1`, destination: `oci:${join(work, 'skopeo-layout')}:app:1.1`, srcTlsVerify: false, extraArgs: ['--preserve-digests'] });
    const result = await layover(['import', join(work, 'skopeo-layout'), ...adminOf(c)]);
    assert.equal(result.code, 0, result.stderr);
    const imported = lastJson<ImportJson>(result);
    assert.deepEqual(imported.refused, []);
    assert.deepEqual(imported.tags, ['docker.io/library/app:1.1']);
    assert.equal(c.instance.core.metadata.getTag('docker.io', 'library/app', '1.1')?.digest, tagOf('1.1').digest);
  });

  test('.tar.zst: export writes zstd frames that `zstd -d` and then skopeo read; import tells zstd by its bytes, also zstd\'s own', async () => {
    const zst = join(work, 'app-1.0.tar.zst');
    const exported = await layover(['export', 'library/app:1.0', '--out', zst, ...adminOf(a)]);
    assert.equal(exported.code, 0, exported.stderr);
    const bytes = await readFile(zst);
    assert.deepEqual([...bytes.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd], 'a zstd frame');
    // The reference zstd takes it (every frame), and the tar inside is an OCI archive skopeo reads.
    const tar = join(work, 'app-1.0-from-zst.tar');
    const unzstd = await runCommand('zstd', ['-d', '-q', '-o', tar, zst], { timeoutMs: 60_000 });
    assert.equal(unzstd.code, 0, unzstd.stderr);
    const fromArchive = await skopeoCopy({ source: `oci-archive:${tar}:library/app:1.0`, destination: `dir:${join(work, 'from-zst')}` });
    assert.equal(fromArchive.digest, tagOf('1.0').digest);

    const e = await startLayover({ upstream: `http://127.0.0.1:${await freePort()}` });
    try {
      const imported = await layover(['import', zst, ...adminOf(e)]);
      assert.equal(imported.code, 0, imported.stderr);
      assert.deepEqual(lastJson<ImportJson>(imported).tags, ['docker.io/library/app:1.0']);
      assert.equal(e.instance.core.metadata.getTag('docker.io', 'library/app', '1.1'), undefined);
      // zstd's own output (one frame, its size unknown: read from a pipe), named as if it were a plain tar.
      const foreign = join(work, 'zstd-made.tar');
      const packed = await runCommand('sh', ['-c', `cat ${join(work, 'app-1.1.tar')} | zstd -q -c > ${foreign}`], { timeoutMs: 60_000 });
      assert.equal(packed.code, 0, packed.stderr);
      const second = await layover(['import', foreign, ...adminOf(e)]);
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual(lastJson<ImportJson>(second).refused, []);
      // --have left the shared base out of app-1.1.tar: e holds it from the first import.
      assert.equal(e.instance.core.metadata.getTag('docker.io', 'library/app', '1.1')?.digest, tagOf('1.1').digest);
      // A zstd bundle cut short: refused, named, no tag.
      const cut = join(work, 'cut.tar.zst');
      await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
      const f = await startLayover({ upstream: `http://127.0.0.1:${await freePort()}` });
      try {
        const refused = await layover(['import', cut, ...adminOf(f)]);
        assert.notEqual(refused.code, 0);
        const json = lastJson<ImportJson>(refused);
        assert.ok(json.refused.some((r) => r.entry === cut && /damaged or truncated/.test(r.reason)), JSON.stringify(json.refused));
        assert.equal(f.instance.core.metadata.getTag('docker.io', 'library/app', '1.0'), undefined);
      } finally {
        await f.stop();
      }
    } finally {
      await e.stop();
    }
  });

  test('imported content is pinned: the quota evicts none of it; imported with --pin-days 0 it is evicted', async () => {
    await b.instance.api.updateSettings({ quotaBytes: 1 });
    const pinnedReport = await b.instance.api.gc();
    assert.equal(pinnedReport.freedBlobs, 0, pinnedReport.summary);
    for (const blob of tagOf('1.0').blobs) assert.notEqual(await b.instance.core.store.sizeOf(blob.digest), undefined);

    const d = await startLayover({ upstream: `http://127.0.0.1:${await freePort()}` });
    started.push(d);
    const result = await layover(['import', join(work, 'app-1.0.tar'), '--pin-days', '0', ...adminOf(d)]);
    assert.equal(result.code, 0, result.stderr);
    await d.instance.api.updateSettings({ quotaBytes: 1 });
    const unpinnedReport = await d.instance.api.gc();
    assert.equal(unpinnedReport.freedBlobs, tagOf('1.0').blobs.length + 1 + sbom.blobs.length, unpinnedReport.summary);
  });

  describe('bad input: refused and named, nothing partial visible', () => {
    let c: LayoverUnderTest;
    before(async () => {
      c = await startLayover({ upstream: `http://127.0.0.1:${await freePort()}` });
      started.push(c);
    });
    const importIntoC = (path: string) => layover(['import', path, ...adminOf(c)]);

    test('a flipped byte: that blob refused by name, the rest imported, the tag not recorded, exit non-zero', async () => {
      const dir = join(work, 'flipped');
      await cp(join(work, 'app-1.1-full'), dir, { recursive: true });
      const layer = tagOf('1.1').manifests[0]!.layers[1]!;
      const file = join(dir, 'blobs', 'sha256', layer.digest.slice(7));
      const bytes = await readFile(file);
      bytes[100] = bytes[100]! ^ 0x01;
      await writeFile(file, bytes);
      const result = await importIntoC(dir);
      assert.notEqual(result.code, 0);
      const imported = lastJson<ImportJson>(result);
      assert.deepEqual(imported.refused.map((r) => r.entry), [`blobs/sha256/${layer.digest.slice(7)}`, `manifest ${tagOf('1.1').digest}`, 'tag docker.io/library/app:1.1']);
      assert.match(imported.refused[0]!.reason, /hash to sha256:[0-9a-f]{64}, not to the digest/);
      assert.equal(imported.added.length, tagOf('1.1').blobs.length - 1);
      assert.equal(c.instance.core.metadata.getTag('docker.io', 'library/app', '1.1'), undefined);
      assert.equal(await c.instance.core.store.sizeOf(layer.digest), undefined);
    });

    test('a layout missing a blob: the manifest needing it and its tag refused, naming the blob', async () => {
      const dir = join(work, 'missing-blob');
      await cp(join(work, 'app-1.1-full'), dir, { recursive: true });
      const layer = tagOf('1.1').manifests[0]!.layers[1]!;
      await rm(join(dir, 'blobs', 'sha256', layer.digest.slice(7)));
      const result = await importIntoC(dir);
      assert.notEqual(result.code, 0);
      const imported = lastJson<ImportJson>(result);
      assert.deepEqual(imported.refused.map((r) => r.entry), [`manifest ${tagOf('1.1').digest}`, 'tag docker.io/library/app:1.1']);
      assert.equal(imported.refused[0]!.reason, `it needs blob ${layer.digest}, which is neither in the bundle nor in this Layover`);
      assert.equal(c.instance.core.metadata.getTag('docker.io', 'library/app', '1.1'), undefined);
    });

    test('a truncated tar: refused, naming where it broke; no tag visible', async () => {
      const tar = join(work, 'truncated.tar');
      await cp(join(work, 'app-1.0.tar'), tar);
      await truncate(tar, Math.floor((await stat(tar)).size * 0.6));
      const result = await importIntoC(tar);
      assert.notEqual(result.code, 0);
      const imported = lastJson<ImportJson>(result);
      assert.ok(imported.refused.some((r) => r.entry === tar && /truncated/.test(r.reason)), JSON.stringify(imported.refused));
      assert.equal(c.instance.core.metadata.getTag('docker.io', 'library/app', '1.0'), undefined);
      // The whole bundle, imported after the interrupted one, goes on from what that one stored.
      const resumed = await importIntoC(join(work, 'app-1.0.tar'));
      assert.equal(resumed.code, 0, resumed.stderr);
      const again = lastJson<ImportJson>(resumed);
      for (const digest of imported.added) assert.ok(again.alreadyPresent.includes(digest), `${digest} was not read again`);
      assert.ok(imported.added.length > 0 && again.added.length > 0);
      assert.equal(c.instance.core.metadata.getTag('docker.io', 'library/app', '1.0')?.digest, tagOf('1.0').digest);
    });

    test('a tar cut inside a layer: its bytes are kept, and the next import goes on from the byte it stopped at', async () => {
      const d = await startLayover({ upstream: `http://127.0.0.1:${await freePort()}` });
      try {
        const whole = await readFile(join(work, 'app-1.0.tar'));
        const base = tagOf('1.0').manifests[0]!.layers[0]!;
        const header = whole.indexOf(Buffer.from(`blobs/sha256/${base.digest.slice(7)}\0`));
        assert.ok(header > 0 && header % 512 === 0, 'the layer\'s tar header');
        const cutAt = 100_000;
        const cut = join(work, 'cut-in-layer.tar');
        await writeFile(cut, whole.subarray(0, header + 512 + cutAt));
        const first = await layover(['import', cut, ...adminOf(d)]);
        assert.notEqual(first.code, 0);
        assert.ok(!lastJson<ImportJson>(first).added.includes(base.digest));
        const kept = await d.instance.core.blobs.partials.size(base.digest);
        assert.ok(kept > 0 && kept <= cutAt, `bytes of the layer kept: ${kept}`);
        assert.equal(await d.instance.core.store.sizeOf(base.digest), undefined, 'nothing partial is visible');

        const transfers: Array<{ digest: string; bytesDone: number; bytesTotal?: number }> = [];
        const unsubscribe = d.instance.core.onEvent((event) => {
          if (event.type === 'transfer' && event.done) transfers.push(event.transfer);
        });
        const resumed = await layover(['import', join(work, 'app-1.0.tar'), ...adminOf(d)]);
        unsubscribe();
        assert.equal(resumed.code, 0, resumed.stderr);
        assert.ok(lastJson<ImportJson>(resumed).added.includes(base.digest));
        const layer = transfers.filter((transfer) => transfer.digest === base.digest);
        assert.deepEqual(layer.map((t) => [t.bytesDone, t.bytesTotal]), [[base.size - kept, base.size - kept]], 'only the rest of the layer was written');
        assert.equal(await d.instance.core.store.sizeOf(base.digest), base.size);
        assert.equal(await d.instance.core.blobs.partials.size(base.digest), 0);
        assert.equal(d.instance.core.metadata.getTag('docker.io', 'library/app', '1.0')?.digest, tagOf('1.0').digest);
      } finally {
        await d.stop();
      }
    });

    test('a bundle directory whose copy stopped inside a layer: the next import reads that file from the byte it stopped at', async () => {
      const d = await startLayover({ upstream: `http://127.0.0.1:${await freePort()}` });
      try {
        const dir = join(work, 'cut-dir');
        await cp(join(work, 'app-1.1-full'), dir, { recursive: true });
        const base = tagOf('1.1').manifests[0]!.layers[0]!;
        const file = join(dir, 'blobs', 'sha256', base.digest.slice(7));
        await truncate(file, 100_000);
        const first = await layover(['import', dir, ...adminOf(d)]);
        assert.notEqual(first.code, 0);
        assert.equal(await d.instance.core.blobs.partials.size(base.digest), 100_000);
        await cp(join(work, 'app-1.1-full', 'blobs', 'sha256', base.digest.slice(7)), file);
        const events: LayoverEvent[] = [];
        const unsubscribe = d.instance.core.onEvent((event) => events.push(event));
        const resumed = await layover(['import', dir, ...adminOf(d)]);
        unsubscribe();
        assert.equal(resumed.code, 0, resumed.stderr);
        const layer = events.flatMap((event) => (event.type === 'transfer' && event.done && event.transfer.digest === base.digest ? [event.transfer.bytesDone] : []));
        assert.deepEqual(layer, [base.size - 100_000]);
        assert.equal(d.instance.core.metadata.getTag('docker.io', 'library/app', '1.1')?.digest, tagOf('1.1').digest);
      } finally {
        await d.stop();
      }
    });

    test('a path escaping the layout: refused by name, nothing written outside', async () => {
      const tar = join(work, 'escape.tar');
      const pack = tarStream.pack();
      const done = pipeline(pack, createWriteStream(tar));
      pack.entry({ name: 'oci-layout' }, '{"imageLayoutVersion":"1.0.0"}');
      pack.entry({ name: '../escaped' }, 'outside');
      pack.entry({ name: 'blobs/sha256/../../../escaped2' }, 'outside');
      pack.finalize();
      await done;
      const result = await importIntoC(tar);
      assert.notEqual(result.code, 0);
      const imported = lastJson<ImportJson>(result);
      assert.deepEqual(imported.refused.map((r) => [r.entry, r.reason]), [
        ['../escaped', 'the path leaves the bundle'], ['blobs/sha256/../../../escaped2', 'the path leaves the bundle'],
      ]);
      assert.equal(existsSync(join(work, 'escaped')), false);
      assert.equal(existsSync(join(work, 'escaped2')), false);
    });

    test('an index naming a manifest not in the bundle, and a tag for a registry not configured: each refused by name', async () => {
      const dir = join(work, 'edited');
      await cp(join(work, 'app-1.1-full'), dir, { recursive: true });
      const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Array<Record<string, unknown>> };
      const absent = `sha256:${'ab'.repeat(32)}`;
      index.manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: absent, size: 10 });
      await writeFile(join(dir, 'index.json'), JSON.stringify(index));
      const contents = JSON.parse(await readFile(join(dir, 'layover-bundle.json'), 'utf8')) as { tags: Array<Record<string, unknown>> };
      contents.tags.push({ ...contents.tags[0], registry: 'other.example.com' });
      await writeFile(join(dir, 'layover-bundle.json'), JSON.stringify(contents));
      const result = await importIntoC(dir);
      assert.notEqual(result.code, 0);
      const imported = lastJson<ImportJson>(result);
      assert.deepEqual(imported.refused.map((r) => r.entry), [`manifest ${absent}`, 'tag other.example.com/library/app:1.1']);
      assert.match(imported.refused[0]!.reason, /index\.json names it, but it is not in the bundle/);
      assert.match(imported.refused[1]!.reason, /registry other\.example\.com is not configured/);
      // The rest of the bundle is whole: its tag is recorded.
      assert.equal(c.instance.core.metadata.getTag('docker.io', 'library/app', '1.1')?.digest, tagOf('1.1').digest);
    });

    test('no caller can have a file outside the staging folder removed', async () => {
      const precious = join(work, 'precious.tar');
      await cp(join(work, 'app-1.0.tar'), precious);
      const api = await adminClient({ adminUrl: c.instance.adminUrl! });
      await assert.rejects(api.startImport({ path: precious, removeAfter: true }), /removeAfter is only for a bundle staged in .*bundles\/incoming/);
      assert.equal(existsSync(precious), true);
    });

    test('a tar on standard input imports through a staging file under the data dir, removed after', async () => {
      const result = await layover(['import', '-', ...adminOf(c)], await readFile(join(work, 'app-1.0.tar')));
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(lastJson<ImportJson>(result).tags, ['docker.io/library/app:1.0']);
      assert.deepEqual(await readdir(join(c.dataDir, 'bundles', 'incoming')), []);
    });
  });
});

function blob0(image: { blobs: Array<{ digest: string }> }): string {
  return image.blobs[0]!.digest;
}


