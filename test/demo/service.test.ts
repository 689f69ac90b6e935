/**
 * The demo through LayoverApi, over the real control API of a headless
 * Layover: start, live `demo` events through the core, one run at a time,
 * cancel, and refused input.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createHttpClient, LayoverApiError } from '../../src-main/api/http-client.js';
import type { LayoverApi } from '../../src-main/api/layover-api.js';
import type { DemoStatus } from '../../src-main/api/types.js';
import { startHeadless, type HeadlessInstance } from '../../src-main/app/headless.js';
import { defaultSettings } from '../../src-main/app/settings.js';
import { createDemoService as createDemoApi } from '../../src-main/app/demo-wiring.js';
import { LINK_PROFILES } from '../../src-main/demo/link-shaper.js';
import { makeTempDir, removeTempDir, sleep } from '../support/process.js';
import { assertDemoResult, assertEmptyDir, FAST_LINK, TINY_SIZE } from './support.js';

describe('the demo service', () => {
  let work: string;
  let tempParent: string;
  let instance: HeadlessInstance;
  let api: LayoverApi;

  before(async () => {
    work = await makeTempDir('demo-service');
    tempParent = await makeTempDir('demo-service-runs');
    instance = await startHeadless({
      dataDir: work,
      settings: { ...defaultSettings(), listen: '127.0.0.1:0', admin: '127.0.0.1:0' },
      logger: pino({ level: 'silent' }),
      extensions: (core) => createDemoApi(core, { client: 'layover', tempParent }),
    });
    api = createHttpClient({ baseUrl: instance.adminUrl!, token: instance.adminToken });
  });
  after(async () => {
    await instance?.stop();
    await removeTempDir(tempParent);
    await removeTempDir(work);
  });

  async function waitUntilFinished(): Promise<DemoStatus> {
    for (let waited = 0; waited < 30_000; waited += 50) {
      const status = await api.getDemo();
      if (status.state === 'done' || status.state === 'failed' || status.state === 'cancelled') return status;
      await sleep(50);
    }
    throw new Error('the demo did not finish in 30 s');
  }

  test('before any run: idle, a simulation, offering the link profiles with the Asia office first', async () => {
    const status = await api.getDemo();
    assert.equal(status.state, 'idle');
    assert.equal(status.simulation, true);
    assert.deepEqual(status.profiles.map((p) => p.id), LINK_PROFILES.map((p) => p.id));
    assert.equal(status.link.id, 'asia-us-dtr');
    assert.equal(status.link.description, '20 Mbit/s, 180 ms');
    assert.deepEqual(status.pulls.map((p) => [p.kind, p.state]), [['direct', 'waiting'], ['cold', 'waiting'], ['warm', 'waiting']]);
    assert.equal(status.defaultSizeBytes, 40 * 1024 * 1024);
  });

  test('a run publishes demo events through the core, live, and ends done with the result', async () => {
    const events: DemoStatus[] = [];
    const unsubscribe = instance.api.subscribe((event) => {
      if (event.type === 'demo') events.push(event.demo);
    });
    try {
      const started = await api.startDemo({ sizeBytes: TINY_SIZE, link: FAST_LINK });
      assert.equal(started.state, 'preparing');
      const finished = await waitUntilFinished();
      assert.equal(finished.state, 'done', finished.error);
      assertDemoResult(finished.result!, { client: 'layover' });
      assert.ok(events.some((e) => e.state === 'running' && e.pulls.some((p) => p.state === 'running')), 'events showed a pull running');
      assert.deepEqual(events.at(-1), finished);
      await assertEmptyDir(tempParent);
    } finally {
      unsubscribe();
    }
  });

  test('one run at a time; cancel stops it and everything it started', async () => {
    await api.startDemo({ sizeBytes: TINY_SIZE, link: '1mbit,50ms' });
    await assert.rejects(api.startDemo({}), (error: LayoverApiError) => error.code === 'DEMO_RUNNING' && error.status === 409);
    const cancelled = await api.cancelDemo();
    assert.equal(cancelled.state, 'cancelled');
    assert.equal((await api.getDemo()).state, 'cancelled');
    await assertEmptyDir(tempParent);
  });

  test('an unreadable link or size is refused with the reason, and nothing starts', async () => {
    await assert.rejects(api.startDemo({ link: 'carrier pigeon' }), (error: LayoverApiError) => error.status === 400 && /cannot read the link/.test(error.message));
    await assert.rejects(api.startDemo({ sizeBytes: 1 }), (error: LayoverApiError) => error.status === 400 && /between 64 KiB/.test(error.message));
    assert.equal((await api.getDemo()).state, 'cancelled', 'the last run is still what getDemo shows');
  });
});
