/**
 * An idle `layover serve` does not carry the bundle libraries (issue 13's
 * idle memory): tar-stream and the zstd packages are loaded by the first
 * export or import, not when the core starts.
 *
 * Seen two ways: the static import graph (every non-type import, followed
 * through the sources) of the bundles feature and of `layover serve`
 * reaches none of them; and a real core started in a fresh process has not
 * loaded the CommonJS ones (Node's module cache) until a bundle is written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { runCommand } from '../support/process.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BUNDLE_PACKAGES = ['tar-stream', '@bokuweb/zstd-wasm', 'fzstd'];

/** Packages reached from a file through static (not type-only, not dynamic) imports, each with one path to it. */
function staticPackages(entry: string): Map<string, string[]> {
  const via = new Map<string, string | undefined>([[entry, undefined]]);
  const packages = new Map<string, string[]>();
  const chain = (file: string) => {
    const path: string[] = [];
    for (let at: string | undefined = file; at; at = via.get(at)) path.unshift(at.slice(ROOT.length + 1));
    return path;
  };
  const queue = [entry];
  for (let file = queue.shift(); file; file = queue.shift()) {
    const text = readFileSync(file, 'utf8');
    const specifiers = [
      ...[...text.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^;]*?\sfrom\s*)?'([^']+)'/gms)].map((match) => match[1]!),
    ];
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) {
        const target = [resolve(dirname(file), specifier.replace(/\.js$/, '.ts')), resolve(dirname(file), specifier.replace(/\.js$/, '.tsx'))].find(existsSync);
        if (target && !via.has(target)) {
          via.set(target, file);
          queue.push(target);
        }
      } else if (!specifier.startsWith('node:') && !packages.has(specifier)) packages.set(specifier, chain(file));
    }
  }
  return packages;
}

test('the bundles feature imports tar-stream and the zstd packages only when a bundle is written or read', () => {
  const reached = staticPackages(join(ROOT, 'src-main', 'app', 'bundle-wiring.ts'));
  assert.ok(reached.has('picomatch'), 'the walk does follow the feature');
  for (const name of BUNDLE_PACKAGES) assert.equal(reached.get(name), undefined, `${name} is loaded at start by ${reached.get(name)?.join(' <- ')}`);
});

test('the static imports of `layover serve` reach neither tar-stream nor the zstd packages', () => {
  const reached = staticPackages(join(ROOT, 'src-main', 'cli', 'serve-command.ts'));
  assert.ok(reached.has('lmdb'), 'the walk does follow the core');
  for (const name of BUNDLE_PACKAGES) assert.equal(reached.get(name), undefined, `${name} is loaded at start by ${reached.get(name)?.join(' <- ')}`);
});

// Not the bundles' own, but the same promise (issue 13's idle memory): libraries that only some commands or settings use.
const ON_USE_PACKAGES = ['open', 'cli-progress', '@sigstore/verify', '@sigstore/bundle'];

test('the static imports of `layover serve` reach none of the libraries loaded on first use', () => {
  const reached = staticPackages(join(ROOT, 'src-main', 'cli', 'serve-command.ts'));
  for (const name of ON_USE_PACKAGES) assert.equal(reached.get(name), undefined, `${name} is loaded at start by ${reached.get(name)?.join(' <- ')}`);
});

test('a started core has loaded neither tar-stream nor the zstd compressor; writing a .tar.zst bundle loads both', async () => {
  const script = `
    import { createRequire } from 'node:module';
    import { join } from 'node:path';
    import { pathToFileURL } from 'node:url';
    const root = ${JSON.stringify(ROOT)};
    const loaded = () => [...new Set(Object.keys(createRequire(import.meta.url).cache).flatMap((path) => /node_modules\\/(tar-stream|@bokuweb\\/zstd-wasm)\\//.exec(path)?.[1] ?? []))].sort();
    const { startLayover } = await import(pathToFileURL(join(root, 'test/support/layover.ts')).href);
    const layover = await startLayover({});
    const idle = loaded();
    const { createLayoutWriter } = await import(pathToFileURL(join(root, 'src-main/bundles/layout-writer.ts')).href);
    const writer = await createLayoutWriter(join(layover.dataDir, 'probe.tar.zst'));
    await writer.abort();
    const afterBundle = loaded();
    await layover.stop();
    console.log(JSON.stringify({ idle, afterBundle }));
  `;
  const result = await runCommand(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env: process.env, timeoutMs: 120_000 });
  assert.equal(result.code, 0, result.stderr);
  const { idle, afterBundle } = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { idle: string[]; afterBundle: string[] };
  assert.deepEqual(idle, [], 'nothing of the bundles loaded by an idle core');
  assert.deepEqual(afterBundle, ['@bokuweb/zstd-wasm', 'tar-stream'], 'the probe sees them once a bundle is written');
});
