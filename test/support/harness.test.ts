/**
 * Proves the test harness against the real programs it drives: sample OCI
 * layouts, Debian's docker-registry (anonymous, htpasswd, proxy), skopeo and
 * an isolated dockerd. Nothing here is skipped: if a real part is missing,
 * the test fails and says which.
 *
 *   node --import tsx --test test/support/harness.test.ts
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import {
  describeSampleImages,
  layoutBlobPath,
  MEDIA_TYPES,
  writeSampleLayout,
  type SampleImageSpec,
  type SampleLayoutResult,
  type SampleTag,
} from '../../src-main/demo/sample-images.js';
import { DOCKER_CLI, DOCKERD_BINARY, startDockerd, type TestDockerd } from './dockerd.js';
import { freePort, freePorts, isPortOpen } from './ports.js';
import { CommandError, makeTempDir, removeTempDir, runningProcesses, startProcess, stopAllProcesses } from './process.js';
import { HTPASSWD_BINARY, parseAccessLogLine, REGISTRY_BINARY, startRegistry, type TestRegistry } from './registry.js';
import { pushLayoutTag, pushSampleLayout, skopeoInspectRaw, skopeoPull, SKOPEO_BINARY } from './skopeo.js';

const ALICE = { username: 'alice', password: 'wonderland' };
const AMD64 = { os: 'linux', architecture: 'amd64' };
const ARM64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };

/** Two images on one base layer, and one two-platform index. */
const SAMPLES: SampleImageSpec[] = [
  { tag: 'app-one', layers: [{ size: 512 * 1024, seed: 'base' }, { size: 8 * 1024, seed: 'app-one', files: 3 }] },
  { tag: 'app-two', layers: [{ size: 512 * 1024, seed: 'base' }, { size: 16 * 1024, seed: 'app-two', gzip: true }] },
  { tag: 'multi', layers: [{ size: 64 * 1024, seed: 'multi' }], platforms: [AMD64, ARM64] },
];

after(() => stopAllProcesses({ graceMs: 2_000 }));

describe('the real parts are installed', () => {
  for (const binary of [REGISTRY_BINARY, HTPASSWD_BINARY, SKOPEO_BINARY, DOCKERD_BINARY, DOCKER_CLI]) {
    it(`has ${binary}`, () => {
      assert.ok(existsSync(binary), `${binary} is missing: install the Debian packages docker-registry, apache2-utils, skopeo and docker.io`);
    });
  }
});

// ---------------------------------------------------------------- sample images

describe('sample images', () => {
  let dir: string;
  let layout: SampleLayoutResult;

  before(async () => {
    dir = await makeTempDir('layout');
    layout = await writeSampleLayout(dir, SAMPLES);
  });
  after(() => removeTempDir(dir));

  it('are deterministic: describing writes nothing and gives the same digests as writing', async () => {
    const described = await describeSampleImages(SAMPLES);
    assert.equal(described.dir, undefined);
    assert.deepEqual(described.tags, layout.tags);
  });

  it('keep a layer digest stable across machines and versions (change only on purpose)', async () => {
    const { tags } = await describeSampleImages([{ tag: 'pinned', layers: [{ size: 4096, seed: 'pinned' }] }]);
    const [layer] = tag(tags, 'pinned').manifests[0]!.layers;
    assert.equal(layer!.size, 4096, 'a size that is a multiple of 512 is the exact tar size');
    assert.equal(layer!.digest, 'sha256:f6a40d4c5bd94471b12bfd83291a895880076b09de4caeda9db626746c6ea349');
  });

  it('share the base layer between images, stored once', async () => {
    const base = (name: string) => tag(layout.tags, name).manifests[0]!.layers[0]!.digest;
    assert.equal(base('app-one'), base('app-two'));
    const onDisk = await readdir(join(dir, 'blobs', 'sha256'));
    assert.ok(onDisk.every((name) => /^[a-f0-9]{64}$/.test(name)), `only blobs named by digest, no temp files: ${onDisk.join(', ')}`);
    assert.equal(onDisk.length, layout.blobs.length, 'every unique blob once');
    assert.equal(layout.totalBytes, layout.blobs.reduce((sum, blob) => sum + blob.size, 0));
  });

  it('write an OCI layout skopeo and docker can read: oci-layout, index.json with ref names', async () => {
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations: Record<string, string> }> };
    assert.deepEqual(
      index.manifests.map((m) => [m.annotations['org.opencontainers.image.ref.name'], m.digest]),
      layout.tags.map((t) => [t.tag, t.digest]),
    );
    for (const blob of layout.blobs) assert.equal(sha256File(layoutBlobPath(dir, blob.digest)), blob.digest);
  });

  it('make a multi-platform index whose platforms have different layers', () => {
    const multi = tag(layout.tags, 'multi');
    assert.equal(multi.mediaType, MEDIA_TYPES.ociIndex);
    assert.deepEqual(multi.manifests.map((m) => m.platform), [AMD64, ARM64]);
    const [amd, arm] = multi.manifests.map((m) => m.layers[0]!.digest);
    assert.notEqual(amd, arm);
    const index = readJson(layoutBlobPath(dir, multi.digest)) as { manifests: Array<{ digest: string; platform: unknown }> };
    assert.deepEqual(index.manifests.map((m) => m.platform), [AMD64, ARM64]);
  });

  it('make valid configs: platform, Cmd, history and rootfs.diff_ids = sha256 of each uncompressed tar', async () => {
    for (const manifest of layout.tags.flatMap((t) => t.manifests)) {
      const config = readJson(layoutBlobPath(dir, manifest.config.digest)) as Record<string, any>;
      assert.equal(config.os, manifest.platform.os);
      assert.equal(config.architecture, manifest.platform.architecture);
      assert.ok(Array.isArray(config.config.Cmd));
      assert.equal(config.history.length, manifest.layers.length);
      assert.deepEqual(config.rootfs, { type: 'layers', diff_ids: manifest.layers.map((l) => l.diffId) });
      for (const layer of manifest.layers) {
        const tarBytes = await layerTar(dir, layer.digest, layer.mediaType);
        assert.equal(sha256(tarBytes), layer.diffId);
        assert.equal(tarBytes.length, layer.uncompressedSize);
      }
    }
  });

  it('make layers that are real tar archives of regular files', async () => {
    const appOne = tag(layout.tags, 'app-one').manifests[0]!.layers[1]!;
    const entries = await listTar(await layerTar(dir, appOne.digest, appOne.mediaType));
    assert.equal(entries.length, 3);
    assert.ok(entries.every((e) => e.type === 'file' && e.name.startsWith('layover-sample/')));
    const gzipped = tag(layout.tags, 'app-two').manifests[0]!.layers[1]!;
    assert.equal(gzipped.mediaType, MEDIA_TYPES.ociLayerGzip);
    assert.equal((await listTar(await layerTar(dir, gzipped.digest, gzipped.mediaType))).length, 1);
  });

  it('stream big layers: 256 MiB with flat memory (its speed is for npm run bench)', async () => {
    const rssBefore = process.memoryUsage().rss;
    const { tags } = await describeSampleImages([{ tag: 'big', layers: [{ size: 256 * 1024 * 1024, seed: 'big' }] }]);
    assert.equal(tag(tags, 'big').manifests[0]!.layers[0]!.size, 256 * 1024 * 1024);
    const grownMiB = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    assert.ok(grownMiB < 96, `memory grew by ${grownMiB.toFixed(0)} MiB while streaming a 256 MiB layer`);
  });
});

// ---------------------------------------------------------------- ports and processes

describe('ports', () => {
  it('hands out distinct free loopback ports', async () => {
    const ports = await freePorts(5);
    assert.equal(new Set(ports).size, 5);
    for (const port of ports) assert.equal(await isPortOpen(port), false);
  });
});

describe('processes', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir('process');
  });
  after(() => removeTempDir(dir));

  it('waits for a log line, logs output to the file, and stops with SIGTERM', async () => {
    const child = await startProcess({
      name: 'greeter',
      command: process.execPath,
      args: ['-e', "console.log('booting'); setTimeout(() => console.error('ready now'), 200); setInterval(() => {}, 1000);"],
      logFile: join(dir, 'greeter.log'),
      ready: { kind: 'log', pattern: /ready now/ },
    });
    const status = await child.stop();
    assert.equal(status.signal, 'SIGTERM');
    await child.exited;
    const log = readFileSync(child.logFile, 'utf8');
    assert.match(log, /booting\n/);
    assert.match(log, /ready now\n/);
  });

  it('waits for an HTTP URL to answer', async () => {
    const port = await freePort();
    const server = `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`;
    const child = await startProcess({
      name: 'web',
      command: process.execPath,
      args: ['-e', server],
      logFile: join(dir, 'web.log'),
      ready: { kind: 'http', url: `http://127.0.0.1:${port}/`, accept: (status) => status === 200 },
    });
    assert.equal(await isPortOpen(port), true);
    await child.stop();
    assert.equal(await isPortOpen(port), false);
  });

  it('fails clearly, with the last log lines, when the child dies before it is ready', async () => {
    const port = await freePort();
    await assert.rejects(
      startProcess({
        name: 'broken',
        command: process.execPath,
        args: ['-e', "console.error('fatal: config.yml is not valid'); process.exit(2);"],
        logFile: join(dir, 'broken.log'),
        ready: { kind: 'tcp', port },
      }),
      (error: Error) => {
        assert.match(error.message, /broken exited \(code 2/);
        assert.match(error.message, /fatal: config\.yml is not valid/);
        return true;
      },
    );
  });

  it('fails clearly when the program is not installed', async () => {
    await assert.rejects(
      startProcess({ name: 'ghost', command: '/nonexistent/registry', args: [], logFile: join(dir, 'ghost.log'), ready: { kind: 'log', pattern: 'x' } }),
      /ghost: could not start \/nonexistent\/registry: spawn \/nonexistent\/registry ENOENT/,
    );
  });

  it('fails clearly on a ready timeout and leaves nothing running', async () => {
    await assert.rejects(
      startProcess({
        name: 'sleeper',
        command: process.execPath,
        args: ['-e', "console.log('still thinking'); setInterval(() => {}, 1000);"],
        logFile: join(dir, 'sleeper.log'),
        ready: { kind: 'log', pattern: 'never printed' },
        // Long enough for a loaded machine to start node and print its line first: the error must show that line.
        readyTimeoutMs: 5_000,
      }),
      /sleeper printed no line matching never printed within 5000 ms[\s\S]*still thinking/,
    );
    assert.deepEqual(runningProcesses().map((child) => child.name), []);
  });

  it('escalates to SIGKILL after the grace period', async () => {
    const child = await startProcess({
      name: 'stubborn',
      command: process.execPath,
      args: ['-e', "process.on('SIGTERM', () => console.log('ignoring TERM')); console.log('up'); setInterval(() => {}, 1000);"],
      logFile: join(dir, 'stubborn.log'),
      ready: { kind: 'log', pattern: 'up' },
    });
    const status = await child.stop({ graceMs: 500 });
    assert.equal(status.signal, 'SIGKILL');
    assert.match(readFileSync(child.logFile, 'utf8'), /ignoring TERM/);
  });
});

// ---------------------------------------------------------------- access log parsing

describe('registry access log parsing', () => {
  it('reads the combined log lines distribution 2.8 writes', () => {
    const entry = parseAccessLogLine(
      '127.0.0.1 - - [28/Nov/2026:07:08:37 +0000] "HEAD /v2/foo/blobs/sha256:00?x=1&y=2 HTTP/1.1" 404 157 "" "curl/7.88.1"',
      7,
    );
    assert.deepEqual(entry, {
      method: 'HEAD',
      path: '/v2/foo/blobs/sha256:00',
      query: 'x=1&y=2',
      status: 404,
      bytes: 157,
      userAgent: 'curl/7.88.1',
      remoteAddress: '127.0.0.1',
      time: new Date('2026-11-28T07:08:37Z'),
      sequence: 7,
    });
  });

  it('unescapes quotes in the user agent and reads "-" sizes and time zones', () => {
    const line = String.raw`127.0.0.1 - - [01/Jan/2025:10:00:00 +0130] "GET /v2/ HTTP/1.1" 200 - "" "docker/20.10 UpstreamClient(Docker-Client/20.10 \"linux\")"`;
    const entry = parseAccessLogLine(line);
    assert.equal(entry?.userAgent, 'docker/20.10 UpstreamClient(Docker-Client/20.10 "linux")');
    assert.equal(entry?.bytes, 0);
    assert.equal(entry?.time.toISOString(), '2025-01-01T08:30:00.000Z');
  });

  it('ignores application log lines and noise', () => {
    assert.equal(parseAccessLogLine('{"level":"info","msg":"listening on 127.0.0.1:5000"}'), undefined);
    assert.equal(parseAccessLogLine('time="2026-11-28T07:08:24Z" level=info msg="redis not configured"'), undefined);
    assert.equal(parseAccessLogLine(''), undefined);
  });
});

// ---------------------------------------------------------------- registry + skopeo

describe('docker-registry with skopeo', () => {
  let layoutDir: string;
  let layout: SampleLayoutResult;
  let registry: TestRegistry;

  before(async () => {
    layoutDir = await makeTempDir('layout');
    layout = await writeSampleLayout(layoutDir, SAMPLES);
    registry = await startRegistry({ name: 'upstream' });
  });
  after(async () => {
    await registry.destroy();
    await removeTempDir(layoutDir);
  });

  it('accepts a push of every tag, digests unchanged, and serves the index as is', async () => {
    const pushed = await pushSampleLayout(layout, { registryHost: registry.host, repository: 'team/sample' });
    assert.deepEqual(Object.fromEntries(pushed), Object.fromEntries(layout.tags.map((t) => [t.tag, t.digest])));
    const { raw, json } = await skopeoInspectRaw({ reference: `${registry.host}/team/sample:multi` });
    assert.equal(sha256(Buffer.from(raw)), tag(layout.tags, 'multi').digest);
    assert.equal(json.mediaType, MEDIA_TYPES.ociIndex);
    assert.ok((await registry.count({ method: 'PUT', pathIncludes: '/manifests/' })) >= 3);
  });

  it('logs one blob GET per blob of a skopeo copy', async () => {
    const mark = await registry.mark();
    const pulled = await skopeoPull({ reference: `${registry.host}/team/sample:app-one` });
    const appOne = tag(layout.tags, 'app-one');
    assert.equal(pulled.digest, appOne.digest);
    const blobGets = await registry.requests({ method: 'GET', pathIncludes: '/blobs/', since: mark });
    const expected = [appOne.manifests[0]!.config, ...appOne.manifests[0]!.layers].map((b) => b.digest).sort();
    assert.deepEqual(blobGets.map((r) => r.path.split('/blobs/')[1]).sort(), expected);
    assert.ok(blobGets.every((r) => r.status === 200));
    assert.equal(await registry.count({ method: ['GET', 'HEAD'], pathIncludes: '/manifests/app-one', since: mark }), 1);
    await removeTempDir(pulled.dir);
  });

  it('lets a test see which platform of an index was fetched', async () => {
    const mark = await registry.mark();
    const pulled = await skopeoPull({ reference: `${registry.host}/team/sample:multi`, platform: ARM64 });
    const [amd, arm] = tag(layout.tags, 'multi').manifests;
    assert.equal(pulled.digest, arm!.digest);
    const blobPaths = (await registry.requests({ method: 'GET', pathIncludes: '/blobs/', since: mark })).map((r) => r.path);
    assert.ok(blobPaths.some((p) => p.endsWith(arm!.layers[0]!.digest)), 'the arm64 layer was fetched');
    assert.ok(!blobPaths.some((p) => p.endsWith(amd!.layers[0]!.digest)), 'the amd64 layer was not');
    await removeTempDir(pulled.dir);
  });

  it('can convert to Docker media types on push', async () => {
    const digest = await pushLayoutTag({ layoutDir, tag: 'app-one', registryHost: registry.host, repository: 'team/docker-typed', format: 'v2s2' });
    const { json } = await skopeoInspectRaw({ reference: `${registry.host}/team/docker-typed@${digest}` });
    assert.equal(json.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  });

  it('stops (an outage: connections refused) and starts again with the same port and storage', async () => {
    const before = await registry.count();
    await registry.stop();
    assert.equal(registry.isRunning(), false);
    assert.equal(await isPortOpen(registry.port), false);
    await assert.rejects(skopeoInspectRaw({ reference: `${registry.host}/team/sample:app-two` }), CommandError);
    await registry.start();
    const { raw } = await skopeoInspectRaw({ reference: `${registry.host}/team/sample:app-two` });
    assert.equal(sha256(Buffer.from(raw)), tag(layout.tags, 'app-two').digest);
    assert.ok((await registry.count()) > before, 'the access log continues across the restart');
  });
});

describe('docker-registry with htpasswd auth', () => {
  let layoutDir: string;
  let registry: TestRegistry;

  before(async () => {
    layoutDir = await makeTempDir('layout');
    await writeSampleLayout(layoutDir, SAMPLES.slice(0, 1));
    registry = await startRegistry({ name: 'private', auth: ALICE });
  });
  after(async () => {
    await registry.destroy();
    await removeTempDir(layoutDir);
  });

  it('refuses anonymous pushes with 401 and logs them', async () => {
    const mark = await registry.mark();
    await assert.rejects(pushLayoutTag({ layoutDir, tag: 'app-one', registryHost: registry.host, repository: 'private/app' }), /401|unauthorized|authentication required/i);
    assert.ok((await registry.count({ status: 401, since: mark })) >= 1);
  });

  it('accepts pushes and pulls with the credentials', async () => {
    const pushed = await pushLayoutTag({ layoutDir, tag: 'app-one', registryHost: registry.host, repository: 'private/app', creds: ALICE });
    const pulled = await skopeoPull({ reference: `${registry.host}/private/app:app-one`, creds: ALICE });
    assert.equal(pulled.digest, pushed);
    await removeTempDir(pulled.dir);
    const users = registry.appLog().map((line) => line['auth.user.name']).filter(Boolean);
    assert.ok(users.includes(ALICE.username), 'the JSON app log names the authenticated user');
  });
});

describe('docker-registry in proxy mode (a peer cache)', () => {
  let layoutDir: string;
  let upstream: TestRegistry;
  let peer: TestRegistry;
  let layout: SampleLayoutResult;

  before(async () => {
    layoutDir = await makeTempDir('layout');
    layout = await writeSampleLayout(layoutDir, SAMPLES.slice(0, 1));
    upstream = await startRegistry({ name: 'origin' });
    await pushSampleLayout(layout, { registryHost: upstream.host, repository: 'library/app' });
    peer = await startRegistry({ name: 'peer', proxy: { remoteUrl: upstream.url } });
  });
  after(async () => {
    await peer.destroy();
    await upstream.destroy();
    await removeTempDir(layoutDir);
  });

  it('fetches blobs from the upstream on a miss, then serves them itself', async () => {
    const mark = await upstream.mark();
    const first = await skopeoPull({ reference: `${peer.host}/library/app:app-one` });
    assert.equal(first.digest, layout.tags[0]!.digest);
    const blobCount = layout.tags[0]!.blobs.length - 1; // every blob but the manifest
    // Distribution 2.8 GETs each missed blob twice upstream: one stream for the client, one to
    // store it (fixed upstream after 2.8, distribution/distribution#3569). Benchmarks should know.
    const upstreamGets = await upstream.count({ method: 'GET', pathIncludes: '/blobs/', since: mark });
    assert.ok(upstreamGets >= blobCount && upstreamGets <= 2 * blobCount, `${upstreamGets} upstream blob GETs for ${blobCount} blobs`);
    const second = await skopeoPull({ reference: `${peer.host}/library/app:app-one` });
    assert.equal(second.digest, first.digest);
    assert.equal(await upstream.count({ method: 'GET', pathIncludes: '/blobs/', since: mark }), upstreamGets, 'a hit costs the upstream no blob');
    assert.equal(await peer.count({ method: 'GET', pathIncludes: '/blobs/' }), 2 * blobCount);
    await removeTempDir(first.dir);
    await removeTempDir(second.dir);
  });
});

// ---------------------------------------------------------------- dockerd

describe('isolated dockerd', () => {
  let layoutDir: string;
  let layout: SampleLayoutResult;
  let registry: TestRegistry;
  let mirror: TestRegistry;
  let dockerd: TestDockerd;
  /** An image only the mirror has, so no layer of it is in the daemon already. */
  const HUB_ONLY: SampleImageSpec = { tag: 'hub-only', layers: [{ size: 32 * 1024, seed: 'hub-only' }] };
  let hubOnly: SampleTag;

  before(async () => {
    layoutDir = await makeTempDir('layout');
    layout = await writeSampleLayout(layoutDir, SAMPLES);
    registry = await startRegistry({ name: 'dtr' });
    mirror = await startRegistry({ name: 'mirror' });
    await pushSampleLayout(layout, { registryHost: registry.host, repository: 'team/sample' });
    hubOnly = tag((await writeSampleLayout(layoutDir, [HUB_ONLY])).tags, 'hub-only');
    await pushLayoutTag({ layoutDir, tag: 'hub-only', registryHost: mirror.host, repository: 'library/mirrored', destinationTag: 'latest' });
    dockerd = await startDockerd({ daemonConfig: { 'registry-mirrors': [mirror.url] } });
  });
  after(async () => {
    await dockerd.stop();
    await mirror.destroy();
    await registry.destroy();
    await removeTempDir(layoutDir);
  });

  it('runs on its own socket, data root and vfs', async () => {
    const info = await dockerd.info();
    assert.equal(info.Driver, 'vfs');
    assert.equal(info.DockerRootDir, dockerd.dataRoot);
    assert.equal(readFileSync(dockerd.pidFile, 'utf8').trim(), String(dockerd.pid));
    assert.ok(dockerd.socketPath.length < 100, `socket path too long for unix sockets: ${dockerd.socketPath}`);
    assert.deepEqual(info.RegistryConfig?.Mirrors, [`${mirror.url}/`]);
  });

  it('docker pulls from a plain-HTTP loopback registry (127.0.0.0/8 is insecure by default)', async () => {
    const mark = await registry.mark();
    const reference = `${registry.host}/team/sample:app-one`;
    const pull = await dockerd.dockerChecked(['pull', reference]);
    const appOne = tag(layout.tags, 'app-one');
    assert.match(pull.stdout, new RegExp(`Digest: ${appOne.digest}`));
    const inspect = await dockerd.dockerChecked(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', reference]);
    assert.deepEqual(JSON.parse(inspect.stdout), appOne.manifests[0]!.layers.map((l) => l.diffId));
    assert.equal(await registry.count({ method: 'GET', pathIncludes: '/blobs/', since: mark }), 3);
  });

  it('docker pulls the platform it runs on from a multi-platform index', async () => {
    const mark = await registry.mark();
    await dockerd.dockerChecked(['pull', `${registry.host}/team/sample:multi`]);
    const [amd, arm] = tag(layout.tags, 'multi').manifests;
    const blobs = (await registry.requests({ method: 'GET', pathIncludes: '/blobs/', since: mark })).map((r) => r.path);
    assert.ok(blobs.some((p) => p.endsWith(amd!.layers[0]!.digest)));
    assert.ok(!blobs.some((p) => p.endsWith(arm!.layers[0]!.digest)));
  });

  it('honours registry-mirrors for Docker Hub names: library/NAME goes to the mirror', async () => {
    const mark = await mirror.mark();
    const pull = await dockerd.dockerChecked(['pull', 'mirrored:latest']);
    assert.match(pull.stdout, new RegExp(hubOnly.digest));
    assert.equal(await mirror.count({ method: ['GET', 'HEAD'], pathIncludes: '/v2/library/mirrored/manifests/latest', since: mark }), 1);
    const blobs = await mirror.requests({ method: 'GET', pathIncludes: '/v2/library/mirrored/blobs/', since: mark });
    const expected = [hubOnly.manifests[0]!.config, ...hubOnly.manifests[0]!.layers].map((b) => `/v2/library/mirrored/blobs/${b.digest}`);
    assert.deepEqual(blobs.map((r) => r.path).sort(), expected.sort());
  });

  it('falls back to Docker Hub (unreachable here) when the mirror lacks the image', async () => {
    const mark = await mirror.mark();
    const pull = await dockerd.docker(['pull', 'not-on-the-mirror:1.0'], { timeoutMs: 120_000 });
    assert.notEqual(pull.code, 0);
    assert.ok((await mirror.count({ pathIncludes: '/v2/library/not-on-the-mirror/', since: mark })) >= 1);
  });

  it('reloads daemon.json on SIGHUP', async () => {
    await dockerd.writeConfig({ 'registry-mirrors': [registry.url] });
    await dockerd.reload();
    assert.deepEqual((await dockerd.info()).RegistryConfig?.Mirrors, [`${registry.url}/`]);
    await dockerd.writeConfig({ 'registry-mirrors': 'not a list' });
    await assert.rejects(dockerd.reload(), /did not reload/);
    assert.deepEqual((await dockerd.info()).RegistryConfig?.Mirrors, [`${registry.url}/`], 'a bad file leaves the old settings');
  });

  it('is reachable through dockerode', async () => {
    const images = await dockerd.api().listImages();
    assert.ok(images.some((image) => (image.RepoTags ?? []).includes(`${registry.host}/team/sample:app-one`)));
  });

  it('stops cleanly: no process, no mount, no dir left', async () => {
    const { dir, pid } = dockerd;
    await dockerd.stop();
    assert.equal(existsSync(dir), false, `${dir} was not removed`);
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(dir), `${dir} is still mounted`);
    assert.throws(() => process.kill(pid, 0), 'dockerd is still running');
    await dockerd.stop(); // a second stop is harmless
  });
});

// ---------------------------------------------------------------- helpers

function tag(tags: SampleTag[], name: string): SampleTag {
  const found = tags.find((t) => t.tag === name);
  assert.ok(found, `no tag ${name}`);
  return found;
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function sha256File(path: string): string {
  return sha256(readFileSync(path));
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

async function layerTar(dir: string, digest: string, mediaType: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const source = createReadStream(layoutBlobPath(dir, digest));
  const stream = mediaType.endsWith('+gzip') ? source.pipe(createGunzip()) : source;
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function listTar(bytes: Buffer): Promise<Array<{ name: string; type: string; size: number }>> {
  const extract = tar.extract();
  const entries: Array<{ name: string; type: string; size: number }> = [];
  const done = (async () => {
    for await (const entry of extract) {
      let size = 0;
      for await (const chunk of entry) size += (chunk as Buffer).length;
      assert.equal(size, entry.header.size);
      entries.push({ name: entry.header.name, type: entry.header.type ?? '', size });
    }
  })();
  extract.end(bytes);
  await done;
  return entries;
}
