/**
 * The demo's 503 (issue 12): over the simulated office link, `layover demo`
 * sometimes failed with `GET …/blobs/sha256:…: HTTP 503` from its own
 * Layover, whose log said "other side closed" 43 ms after the request left.
 *
 * The cause is not a timeout in Layover but connection reuse on a slow link.
 * The origin starts its keep-alive clock when it hands the last byte of a
 * response to its socket; Layover sees that byte a latency (and, on a narrow
 * link, seconds of buffered bytes) later and reuses the connection at once
 * for the next blob. The origin's keep-alive then runs out while that request
 * is still crossing the link, and it closes the connection without reading
 * it. The request never reached the origin, so sending it again on a fresh
 * connection is always right for a GET or HEAD; Go's HTTP client (Docker's)
 * does exactly that.
 *
 * Here the race is made exact with the demo's own parts: its origin (a Node
 * HTTP server with a 3 s keep-alive), its link shaper (2 s one way, so the
 * origin's clock runs 2 s ahead of Layover's view of it), and a Layover core.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { demoRepositories, DEMO_REPOSITORY, DEMO_TAG } from '../../src-main/demo/demo-images.js';
import { startHostedRegistry, type HostedRegistry } from '../../src-main/demo/hosted-registry.js';
import { LinkShaper, type LinkEvent } from '../../src-main/demo/link-shaper.js';
import { writeSampleLayout, type SampleLayer } from '../../src-main/demo/sample-images.js';
import { get, sha256 } from '../support/http.js';
import { startLayover, type LayoverUnderTest } from '../support/layover.js';
import { makeTempDir, removeTempDir } from '../support/process.js';
import { TINY_SIZE } from './support.js';

/** The origin's keep-alive: long enough that Layover's HTTP client keeps the connection (it subtracts 2 s from the hint). */
const ORIGIN_KEEP_ALIVE_MS = 3_000;
/**
 * One way over the link. Layover gets a response's end this long after the origin started its keep-alive clock,
 * reuses the connection right away, and its next request reaches the origin 2 × this after that clock started:
 * 4 s, past the origin's 3 s, so the origin has closed the connection before the request gets there (±1 s of margin).
 */
const ONE_WAY_MS = 2_000;

describe('a slow office link: the origin closes a kept-alive connection while Layover reuses it', { timeout: 120_000 }, () => {
  let work: string;
  let origin: HostedRegistry;
  let link: LinkShaper;
  let layover: LayoverUnderTest;
  let layers: SampleLayer[];
  const linkEvents: LinkEvent[] = [];
  const originRequests: string[] = [];

  before(async () => {
    work = await makeTempDir('slow-link-reuse');
    const app = demoRepositories(TINY_SIZE, 'reuse').find((repository) => repository.name === DEMO_REPOSITORY)!;
    const layout = await writeSampleLayout(join(work, 'origin'), app.images);
    layers = layout.tags.find((tag) => tag.tag === DEMO_TAG)!.manifests[0]!.layers;
    origin = await startHostedRegistry([{ name: DEMO_REPOSITORY, layoutDir: join(work, 'origin') }]);
    origin.server.keepAliveTimeout = ORIGIN_KEEP_ALIVE_MS;
    origin.server.on('request', (req) => originRequests.push(req.url ?? ''));
    const originUrl = new URL(origin.url);
    link = await LinkShaper.start({
      target: { host: originUrl.hostname, port: Number(originUrl.port) },
      link: { latencyMs: ONE_WAY_MS, handshake: false },
      onEvent: (event) => linkEvents.push(event),
    });
    layover = await startLayover({ upstream: link.url });
  });
  after(async () => {
    await layover?.stop();
    await link?.stop();
    await origin?.close();
    await removeTempDir(work);
  });

  test('the next blob is fetched again on a fresh connection: exact bytes, no 503', async () => {
    const [first, second] = layers as [SampleLayer, SampleLayer];
    const blobUrl = (digest: string) => `${layover.url}/v2/${DEMO_REPOSITORY}/blobs/${digest}`;

    const one = await get(blobUrl(first.digest));
    assert.equal(one.status, 200);
    assert.equal(sha256(one.body), first.digest);

    const two = await get(blobUrl(second.digest));
    assert.equal(two.status, 200, `the second blob: HTTP ${two.status} ${two.body.toString('utf8').slice(0, 300)}`);
    assert.equal(two.bodyError, undefined);
    assert.equal(two.body.length, second.size);
    assert.equal(sha256(two.body), second.digest);

    // The race happened as described, counted on the link: the first connection carried two requests (the
    // first blob's, then the second blob's, which the origin never read), the second connection one (the retry).
    const upBytes = (connection: number) => linkEvents
      .filter((event): event is Extract<LinkEvent, { type: 'send' }> => event.type === 'send' && event.direction === 'up' && event.connection === connection)
      .reduce((sum, send) => sum + send.bytes, 0);
    assert.equal(link.stats().connections, 2, 'one connection reused and lost, one fresh for the retry');
    assert.ok(upBytes(2) > 0);
    assert.equal(upBytes(1), 2 * upBytes(2), 'connection 1 carried two requests of the same size, connection 2 one');
    const blobPath = (digest: string) => `/v2/${DEMO_REPOSITORY}/blobs/${digest}`;
    assert.deepEqual(originRequests, [blobPath(first.digest), blobPath(second.digest)], 'the origin read each request once');
  });
});
