/**
 * Moving an office's data directory to the metadata index with the real
 * `layover serve` (compiled: run `npx tsc -p tsconfig.json` first): a kill -9
 * in the middle of importing a large metadata.json loses nothing, the next
 * start imports it all; the same for moving a year-old index of schema 1 to
 * the packed layout of schema 2; a data directory from a newer Layover is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { open } from 'lmdb';
import { SCHEMA_VERSION } from '../../src-main/core/store/index-db.js';
import { MetadataIndex } from '../../src-main/core/store/metadata.js';
import { startLayoverProcess } from '../support/layover.js';
import { freePort, LOOPBACK } from '../support/ports.js';
import { makeTempDir, removeTempDir, sleep, startProcess, type ReadyCheck } from '../support/process.js';
import { writeSchemaOneIndex, type SchemaOneContent } from './schema-one.js';

const CLI_ENTRY = join(import.meta.dirname, '..', '..', 'bin', 'layover.js');
/** Nothing listens there: these tests never need the upstream. */
const NO_UPSTREAM = `http://${LOOPBACK}:9`;
const IMPORTING = /importing the data directory into the metadata index/;
const IMPORTED = /imported the data directory into the metadata index/;
const MIGRATING = /moving the metadata index to its compact layout/;
const MIGRATED = /moved the metadata index to its compact layout/;

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

/** A year of office pulls in the landed version's index (schema 1): 100,000 blobs, 20,000 manifests, 2,000 repositories × 50 tags. */
function officeSchemaOne(): SchemaOneContent {
  const content: SchemaOneContent = { blobs: [], manifests: [], tags: [], tagLists: [] };
  for (let b = 0; b < 100_000; b++) content.blobs.push({ digest: digestOf(b), size: 1_000 + b, lastAccess: 1_700_000_000_000 + ((b * 7_919) % 100_000) });
  for (let m = 0; m < 20_000; m++) content.manifests.push({ digest: digestOf(m), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 500 + m });
  for (let r = 0; r < SHAPE.repositories; r++) {
    const repository = `team-${r % 40}/service-${r}`;
    const tags = Array.from({ length: SHAPE.tagsPerRepository }, (_, t) => `v${t}`);
    tags.forEach((tag, t) => content.tags.push({ registry: 'docker.io', repository, tag, digest: digestOf(r * SHAPE.tagsPerRepository + t), mediaType: 'application/vnd.oci.image.manifest.v1+json', checkedAt: 1_700_000_000_000 + t }));
    content.tagLists!.push({ registry: 'docker.io', repository, tags, fetchedAt: 1_700_000_000_000 });
  }
  return content;
}

function schemaOnDisk(dataDir: string): { schema: unknown; blobs: number } {
  const env = open({ path: join(dataDir, 'index'), maxDbs: 16, readOnly: true });
  try {
    const schema = env.openDB({ name: 'meta' }).get('schema');
    return { schema, blobs: (env.openDB({ name: schema === 1 ? 'blobs' : 'blobs.2', ...(schema === 1 ? {} : { keyEncoding: 'binary' as const }) }).getStats() as { entryCount: number }).entryCount };
  } finally {
    void env.close();
  }
}

test('kill -9 in the middle of moving a year-old schema-1 index to the packed layout loses nothing: the next start moves all of it', { timeout: 600_000 }, async () => {
  const work = await makeTempDir('index-schema-migration');
  const dataDir = join(work, 'data');
  try {
    await mkdir(dataDir, { mode: 0o700 });
    const content = officeSchemaOne();
    await writeSchemaOneIndex(dataDir, content);

    const interrupted = await startServe(dataDir, { kind: 'log', pattern: MIGRATING });
    await writingStarted(join(dataDir, 'index', 'data.mdb'), () => !interrupted.isRunning() || MIGRATED.test(interrupted.tail(200)));
    interrupted.signal('SIGKILL');
    await interrupted.exited;
    assert.doesNotMatch(interrupted.tail(200), MIGRATED, 'the kill landed before the migration finished');
    assert.deepEqual(schemaOnDisk(dataDir), { schema: 1, blobs: content.blobs.length }, 'schema 1 is whole after the kill');

    // The next start, in-process: a serve would also run its background check, which forgets these records (they have no blob files).
    const index = new MetadataIndex(dataDir);
    const logged: string[] = [];
    await index.load({ log: (message) => logged.push(message) });
    try {
      assert.ok(logged.some((line) => MIGRATED.test(line)), 'the next start moves the index');
      assert.deepEqual(index.usage(), { bytes: content.blobs.reduce((sum, blob) => sum + blob.size, 0), blobs: content.blobs.length });
      for (let b = 0; b < content.blobs.length; b += 997) assert.deepEqual(index.blob(digestOf(b)), { size: content.blobs[b]!.size, lastAccess: content.blobs[b]!.lastAccess }, `blob ${b}`);
      const oldest = index.oldestBlobs(3);
      assert.deepEqual(oldest.map((blob) => blob.lastAccess), [1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002], 'the eviction order is whole');
      for (let m = 0; m < 20_000; m += 499) assert.equal(index.getManifest(digestOf(m))?.size, 500 + m, `manifest ${m}`);
      assert.equal(index.repositoryCount(), SHAPE.repositories);
      assert.equal(Object.keys(index.repository('docker.io', 'team-17/service-1777')?.tags ?? {}).length, SHAPE.tagsPerRepository);
      assert.equal(index.getTag('docker.io', 'team-17/service-1777', 'v49')?.digest, digestOf(1777 * SHAPE.tagsPerRepository + 49));
      assert.equal(index.getTagList('docker.io', 'team-0/service-0')?.tags.length, SHAPE.tagsPerRepository);
    } finally {
      await index.close();
    }
    assert.deepEqual(schemaOnDisk(dataDir), { schema: SCHEMA_VERSION, blobs: content.blobs.length });
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
    await env.openDB({ name: 'meta' }).put('schema', SCHEMA_VERSION + 1);
    await env.close();
    const before = await readFile(join(dataDir, 'index', 'data.mdb'));

    const refused = await startServe(dataDir, { kind: 'custom', description: 'nothing', probe: async () => false }).catch((error: Error) => error);
    assert.ok(refused instanceof Error, 'layover serve does not start');
    assert.match(refused.message, new RegExp(`written by a newer version of Layover \\(schema ${SCHEMA_VERSION + 1}; this version reads schema ${SCHEMA_VERSION}\\)`));
    assert.ok((await readFile(join(dataDir, 'index', 'data.mdb'))).equals(before));
  } finally {
    await removeTempDir(work);
  }
});
