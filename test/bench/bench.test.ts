/**
 * The benchmark runs end to end on tiny sizes: every server starts, every
 * case produces its row, and the files are written. Numbers are not judged
 * (tiny sizes on a shared machine mean little), except one invariant that is
 * a count, not a time: with single flight, N concurrent clients cost the
 * link the image once.
 *
 *   node --import tsx --test test/bench/bench.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseOptions, type BenchOptions } from '../../bench/options.js';
import { runBench } from '../../bench/run.js';
import { makeTempDir, removeTempDir } from '../support/process.js';

let outDir: string | undefined;
after(async () => {
  if (outDir) await removeTempDir(outDir);
});

test('the bench runs every case on tiny sizes and writes results.json and results.md', { timeout: 900_000 }, async () => {
  outDir = await makeTempDir('bench-smoke');
  const options = parseOptions(['--quick', '--rounds', '1', '--warm-rounds', '1', '--out', outDir]) as BenchOptions;
  const lines: string[] = [];
  const run = await runBench(options, (line) => lines.push(line));

  assert.ok(existsSync(join(outDir, 'results.json')) && existsSync(join(outDir, 'results.md')));
  const written = JSON.parse(readFileSync(join(outDir, 'results.json'), 'utf8')) as typeof run.report;
  assert.equal(written.machine.cores > 0, true);
  assert.match(written.machine.node, /^v\d+/);
  const cases = written.table.map((row) => row.case.split(' ')[0]);
  for (const expected of ['1.', '2.', '3.', '4.', '5.', '6.', '7.']) assert.ok(cases.includes(expected), `a row for case ${expected} in ${cases.join(' ')}\n${lines.join('\n')}`);
  for (const row of written.table) assert.ok(['yes', 'no', '—'].includes(row.met), `met? is yes, no or —: ${JSON.stringify(row)}`);
  assert.match(readFileSync(join(outDir, 'results.md'), 'utf8'), /\| Case \| Layover \| Peer: distribution proxy \| nginx \(static\) \| Ratio \| Target \| Met\? \|/);

  // The grown store (issue 13): both stores measured, the grown one really grown, every request answered.
  const grown = written.results.grown!;
  assert.equal(grown.grown.blobs, options.grownRepositories * 50);
  assert.equal(grown.grown.tags, options.grownRepositories * options.grownTags);
  for (const store of [grown.stores.fresh, grown.stores.grown]) {
    assert.ok(store.samples.length === options.grownRounds && store.samples.every((sample) => sample.requests > 0 && sample.errors === 0), JSON.stringify(store.samples.map(({ latenciesMs: _l, ...rest }) => rest)));
    assert.ok(store.rssBytes > 0 && store.readyMs > 0);
  }
  assert.match(readFileSync(join(outDir, 'results.md'), 'utf8'), /\| goal \| measured \| met\? \|/);

  const concurrent = written.results.concurrent!;
  for (const sample of concurrent.samples.layover!) {
    assert.equal(sample.failures, 0);
    assert.ok(sample.linkBytes / concurrent.imageBytes < 1.02, `single flight: ${sample.linkBytes} bytes over the link for a ${concurrent.imageBytes}-byte image`);
  }
});
