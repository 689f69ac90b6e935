/**
 * The demo scenario with its real parts: sample images, the hosted origin,
 * the link shaper, a Layover core, and a real `docker pull` (a dockerd of the
 * test's own) or Layover's verifying client. Tiny image, fast link.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DemoStatus } from '../../src-main/api/types.js';
import { runDemo as runDemoScenario } from '../../src-main/app/demo-wiring.js';
import { startDockerd, type TestDockerd } from '../support/dockerd.js';
import { makeTempDir, removeTempDir } from '../support/process.js';
import { assertDemoResult, assertEmptyDir, assertNetworkHandlesBack, FAST_LINK, openNetworkHandles, TINY_SIZE } from './support.js';

describe('the demo scenario', () => {
  let tempParent: string;
  before(async () => {
    tempParent = await makeTempDir('demo-scenario');
  });
  after(async () => {
    await removeTempDir(tempParent);
  });

  test("without Docker: Layover's client pulls three times; the warm pull moves nothing over the link; nothing is left", async () => {
    const handles = openNetworkHandles();
    const statuses: DemoStatus[] = [];
    const result = await runDemoScenario({ sizeBytes: TINY_SIZE, link: FAST_LINK, client: 'layover', tempParent, onStatus: (s) => statuses.push(s) });

    assertDemoResult(result, { client: 'layover' });
    assert.equal(result.link.label, 'Custom link');
    assert.equal(result.link.description, '200 Mbit/s, 2 ms');
    const states = [...new Set(statuses.map((s) => s.state))];
    assert.deepEqual(states, ['preparing', 'running', 'done']);
    const last = statuses.at(-1)!;
    assert.deepEqual(last.pulls.map((p) => [p.kind, p.state, p.bytesDone === p.bytesTotal]), [['direct', 'done', true], ['cold', 'done', true], ['warm', 'done', true]]);
    assert.deepEqual(last.result, result);
    assert.equal(last.simulation, true);
    await assertNetworkHandlesBack(handles);
    await assertEmptyDir(tempParent);
  });

  test('a named profile is reported with its id and label', async () => {
    const result = await runDemoScenario({ sizeBytes: TINY_SIZE, link: 'lan', client: 'layover', tempParent });
    assert.deepEqual(result.link, { id: 'lan', label: 'Same building (LAN)', description: '1000 Mbit/s, 0.5 ms', downBytesPerSecond: 125_000_000, latencyMs: 0.5 });
    assert.equal(result.linkBytes.warm, 0);
  });

  test('cancelled during the direct pull: it rejects, says cancelled, and stops and removes everything', async () => {
    const handles = openNetworkHandles();
    const controller = new AbortController();
    const statuses: DemoStatus[] = [];
    // 512 kbit/s: the direct pull of 256 KiB takes four seconds, time enough for a late status tick to cancel it halfway.
    const run = runDemoScenario({
      sizeBytes: TINY_SIZE, link: '512kbit,20ms', client: 'layover', tempParent, signal: controller.signal,
      onStatus: (status) => {
        statuses.push(status);
        if (status.pulls[0]!.bytesDone > 0) controller.abort(new Error('stop'));
      },
    });
    await assert.rejects(run, /stop/);
    const last = statuses.at(-1)!;
    assert.equal(last.state, 'cancelled');
    assert.deepEqual(last.pulls.map((p) => p.state), ['cancelled', 'cancelled', 'cancelled']);
    await assertNetworkHandlesBack(handles);
    await assertEmptyDir(tempParent);
  });

  test('Docker asked for but not there: it fails with the reason, and leaves nothing', async () => {
    const handles = openNetworkHandles();
    const statuses: DemoStatus[] = [];
    const dockerCandidates = [{ address: 'unix:///nonexistent/docker.sock', options: { socketPath: '/nonexistent/docker.sock' }, local: true }];
    await assert.rejects(
      runDemoScenario({ sizeBytes: TINY_SIZE, link: FAST_LINK, client: 'docker', dockerCandidates, tempParent, onStatus: (s) => statuses.push(s) }),
      /Docker is not reachable/,
    );
    assert.equal(statuses.at(-1)!.state, 'failed');
    assert.match(statuses.at(-1)!.error ?? '', /Docker is not reachable/);
    await assertNetworkHandlesBack(handles);
    await assertEmptyDir(tempParent);
  });

  test('a run left behind by a process that died is swept away by the next run; a live one is kept', async () => {
    const dead = join(tempParent, 'layover-demo-dead01');
    const live = join(tempParent, 'layover-demo-live01');
    for (const [dir, pid] of [[dead, spawnSync('true').pid], [live, process.pid]] as const) {
      await mkdir(join(dir, 'origin'), { recursive: true });
      await writeFile(join(dir, 'owner.pid'), String(pid));
    }
    await runDemoScenario({ sizeBytes: TINY_SIZE, link: FAST_LINK, client: 'layover', tempParent });
    assert.deepEqual(await readdir(tempParent), ['layover-demo-live01']);
    await rm(live, { recursive: true });
  });

  test('sizes and links it cannot use are refused before anything starts', async () => {
    await assert.rejects(runDemoScenario({ sizeBytes: 10, tempParent }), /between 64 KiB and 8 GiB/);
    await assert.rejects(runDemoScenario({ link: 'carrier pigeon', tempParent }), /cannot read the link "carrier pigeon"/);
    await assertEmptyDir(tempParent);
  });
});

describe('the demo scenario with Docker', () => {
  let dockerd: TestDockerd;
  let tempParent: string;
  before(async () => {
    tempParent = await makeTempDir('demo-docker');
    dockerd = await startDockerd();
  });
  after(async () => {
    await dockerd?.stop();
    if (tempParent) await removeTempDir(tempParent);
  });

  test('three real docker pulls; each downloads, the warm one moves nothing over the link; the images are removed', async () => {
    const handles = openNetworkHandles();
    const dockerCandidates = [{ address: dockerd.host, options: { socketPath: dockerd.socketPath }, local: true }];
    const result = await runDemoScenario({ sizeBytes: TINY_SIZE, link: FAST_LINK, dockerCandidates, tempParent });

    assertDemoResult(result, { client: 'docker' });
    const images = await dockerd.dockerChecked(['image', 'ls', '--all', '--quiet']);
    assert.equal(images.stdout.trim(), '', 'the demo removed the images it pulled');
    await assertNetworkHandlesBack(handles);
    await assertEmptyDir(tempParent);
  });
});
