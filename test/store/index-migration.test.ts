/**
 * Moving an office's data directory to the metadata index with the real
 * `layover serve` (compiled: run `npx tsc -p tsconfig.json` first): a kill -9
 * in the middle of importing a large metadata.json loses nothing, the next
 * start imports it all; a data directory from a newer Layover is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { open } from 'lmdb';
import { MetadataIndex } from '../../src-main/core/store/metadata.js';
import { startLayoverProcess } from '../support/layover.js';
import { freePort, LOOPBACK } from '../support/ports.js';
import { makeTempDir, removeTempDir, sleep, startProcess, type ReadyCheck } from '../support/process.js';

const CLI_ENTRY = join(import.meta.dirname, '..', '..', 'bin', 'layover.js');
/** Nothing listens there: these tests never need the upstream. */
const NO_UPSTREAM = `http://${LOOPBACK}:9`;
const IMPORTING = /importing the data directory into the metadata index/;
const IMPORTED = /imported the data directory into the metadata index/;

const SHAPE = { repositories: 2_000, tagsPerRepository: 50, manifests: 100_000 };

const digestOf = (n: number): string => `sha256:${createHash('sha256').update(String(n)).digest('hex')}`;

/** The metadata.json a year of office pulls leaves: 2,000 repositories × 50 tags, 100,000 manifests with access times. */
function officeMetadataJson(): string {
  const registries: Record<string, Record<string, unknown>> = { 'docker.io': {} };
  for (let r = 0; r < SHAPE.repositories; r++) {
    const tags: Record<string, unknown> = {};
    for (let t = 0; t < SHAPE.tagsPerRepository; t++) {
      tags[`v${t}`] = { digest: digestOf(r * SHAPE.tagsPerRepository + t), mediaType: 'application/vnd.oci.image.manifest.v1+json', checkedAt: 1_700_000_000_000 + t };
    }
    registries['docker.io']![`team-${r % 40}/service-${r}`] = { tags, tagList: { tags: Object.keys(tags), fetchedAt: 1_700_000_000_000 }, lastAccess: 1_700_000_000_000 + r };
  }
  const manifests: Record<string, unknown> = {};
  const access: Record<string, number> = {};
  for (let m = 0; m < SHAPE.manifests; m++) {
    manifests[digestOf(m)] = { mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 500 + (m % 1000) };
    access[digestOf(m)] = 1_700_000_000_000 + m;
  }
  return JSON.stringify({ version: 1, registries, manifests, access });
}

/** A mebibyte of records on disk: well into the import, long before its end (the whole import writes tens of them). */
const WELL_INTO_THE_IMPORT = 1024 * 1024;

/**
 * Resolves once the index file has grown by a mebibyte: the import's records
 * are reaching the disk (the most delicate moment to be killed), or once
 * `gaveUp` says there is nothing left to wait for.
 */
async function writingStarted(file: string, gaveUp: () => boolean): Promise<void> {
  const initial = (await stat(file)).size;
  while (!gaveUp() && (await stat(file)).size < initial + WELL_INTO_THE_IMPORT) await sleep(5);
}

/** `layover serve` on the data directory, ready when `ready` passes. */
async function startServe(dataDir: string, ready: ReadyCheck) {
  const [port, adminPort] = [await freePort(), await freePort()];
  return startProcess({
    name: 'layover',
    command: process.execPath,
    args: [CLI_ENTRY, 'serve', '--data', dataDir, '--listen', `${LOOPBACK}:${port}`, '--admin', `${LOOPBACK}:${adminPort}`, '--upstream', NO_UPSTREAM],
    logFile: join(dataDir, '..', `layover-${port}.log`),
    ready,
    readyTimeoutMs: 120_000,
  });
}

test('kill -9 in the middle of importing a large metadata.json loses nothing: the next start imports all of it', { timeout: 600_000 }, async () => {
  const work = await makeTempDir('index-migration');
  const dataDir = join(work, 'data');
  try {
    await mkdir(dataDir, { mode: 0o700 });
    const text = officeMetadataJson();
    await writeFile(join(dataDir, 'metadata.json'), text);

    const interrupted = await startServe(dataDir, { kind: 'log', pattern: IMPORTING });
    await writingStarted(join(dataDir, 'index', 'data.mdb'), () => !interrupted.isRunning() || IMPORTED.test(interrupted.tail(200)));
    interrupted.signal('SIGKILL');
    await interrupted.exited;
    assert.doesNotMatch(interrupted.tail(200), IMPORTED, 'the kill landed before the import finished');
    assert.equal(await readFile(join(dataDir, 'metadata.json'), 'utf8'), text, 'the old file is untouched by the interrupted import');

    const next = await startLayoverProcess({ dataDir, upstream: NO_UPSTREAM });
    try {
      await next.process.waitForLine(IMPORTING, { timeoutMs: 1_000 });
    } finally {
      await next.process.stop();
    }
    // The line above is the proof the kill landed before the commit: a finished import is never imported again.
    assert.equal(await readFile(join(dataDir, 'metadata.json.imported'), 'utf8'), text, 'the old file is kept aside, byte for byte');

    const index = new MetadataIndex(dataDir);
    await index.load();
    try {
      assert.equal(index.repositoryCount(), SHAPE.repositories);
      let tags = 0;
      for (const { registry, repository } of index.repositories()) tags += Object.keys(index.repository(registry, repository)?.tags ?? {}).length;
      assert.equal(tags, SHAPE.repositories * SHAPE.tagsPerRepository, 'every tag arrived');
      for (let m = 0; m < SHAPE.manifests; m += 997) assert.equal(index.getManifest(digestOf(m))?.size, 500 + (m % 1000), `manifest ${m}`);
      assert.equal(index.getTag('docker.io', 'team-17/service-1777', 'v49')?.digest, digestOf(1777 * SHAPE.tagsPerRepository + 49));
      assert.equal(index.getTagList('docker.io', 'team-0/service-0')?.tags.length, SHAPE.tagsPerRepository);
    } finally {
      await index.close();
    }
  } finally {
    await removeTempDir(work);
  }
});

test('a data directory from a newer Layover is refused with the reason, and not a byte of its index is written', async () => {
  const work = await makeTempDir('index-newer');
  const dataDir = join(work, 'data');
  try {
    const first = new MetadataIndex(dataDir);
    await first.load();
    first.setTag('docker.io', 'library/alpine', 'latest', { digest: digestOf(1), mediaType: 'm', checkedAt: 1 });
    await first.close();
    const env = open({ path: join(dataDir, 'index') });
    await env.openDB({ name: 'meta' }).put('schema', 2);
    await env.close();
    const before = await readFile(join(dataDir, 'index', 'data.mdb'));

    const refused = await startServe(dataDir, { kind: 'custom', description: 'nothing', probe: async () => false }).catch((error: Error) => error);
    assert.ok(refused instanceof Error, 'layover serve does not start');
    assert.match(refused.message, /written by a newer version of Layover \(schema 2; this version reads schema 1\)/);
    assert.ok((await readFile(join(dataDir, 'index', 'data.mdb'))).equals(before));
  } finally {
    await removeTempDir(work);
  }
});
