import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createPullDisplay } from './runtime-commands.js';
import { LINE_INTERVAL_MS, TerminalProgress } from './terminal-progress.js';

test('pull progress off a terminal is one plain line per change of state, not per byte', () => {
  const out = new PassThrough();
  const display = createPullDisplay(out);
  display.update({ status: 'Pulling from dtr.example.com/eng/app', id: '7' });
  display.update({ id: 'a1', status: 'Pulling fs layer' });
  display.update({ id: 'a1', status: 'Downloading', current: 10, total: 100 });
  display.update({ id: 'a1', status: 'Downloading', current: 50, total: 100 });
  display.update({ id: 'a1', status: 'Download complete' });
  display.update({ status: 'Digest: sha256:abc' });
  display.stop();
  assert.equal(String(out.read()), '7: Pulling from dtr.example.com/eng/app\na1: Pulling fs layer\na1: Downloading\na1: Download complete\nDigest: sha256:abc\n');
});

test('off a terminal a row gets a line when its state changes, or when it moved and the last line is a few seconds old', () => {
  const progress = new TerminalProgress(new PassThrough(), { live: false });
  const at = 1_000_000;
  assert.equal(progress.lineDue('job', 'running', 0, at), true, 'the first line');
  assert.equal(progress.lineDue('job', 'running', 10, at + 1), false, 'moved, but a moment ago');
  assert.equal(progress.lineDue('job', 'running', 10, at + LINE_INTERVAL_MS), true, 'moved, and long enough ago');
  assert.equal(progress.lineDue('job', 'running', 10, at + 3 * LINE_INTERVAL_MS), false, 'did not move');
  assert.equal(progress.lineDue('job', 'done', 10, at + 3 * LINE_INTERVAL_MS + 1), true, 'a new state, at once');
  assert.equal(progress.lineDue('other', 'running', 0, at + 1), true, 'each row on its own');
});
