/**
 * The shell stays thin and testable: only the glue files load Electron, the
 * pure modules never reach the glue, nothing below imports the shell, and
 * the preload, bundled the way the build bundles it, needs nothing but
 * Electron and exposes exactly LayoverApi.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { LAYOVER_METHODS } from '../api/layover-api.js';
import { IPC_CALL, IPC_EVENTS } from './ipc-protocol.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const srcMain = join(here, '..');

/** The files allowed to load electron or electron-store at run time. */
const GLUE = new Set([
  'main.ts', 'preload.ts', 'tray.ts', 'notifier.ts', 'dashboard-window.ts', 'session-security.ts', 'ipc-bridge.ts', 'electron-settings.ts', 'login-item.ts',
]);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Import and export-from statements, with whether they are type-only. */
function imports(path: string): Array<{ from: string; typeOnly: boolean }> {
  const text = readFileSync(path, 'utf8');
  const found: Array<{ from: string; typeOnly: boolean }> = [];
  for (const match of text.matchAll(/^\s*(import|export)\s+(type\s+)?([^;]*?)\s*from\s*'([^']+)'/gms)) {
    found.push({ from: match[4]!, typeOnly: Boolean(match[2]) });
  }
  for (const match of text.matchAll(/^\s*import\s*'([^']+)'/gm)) found.push({ from: match[1]!, typeOnly: false });
  for (const match of text.matchAll(/import\(\s*'([^']+)'\s*\)/g)) found.push({ from: match[1]!, typeOnly: false });
  return found;
}

const shellFiles = readdirSync(here).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'));

test('only the glue files load electron or electron-store; the rest may only import their types', () => {
  const loaders = shellFiles.filter((name) => imports(join(here, name)).some((i) => !i.typeOnly && /^electron(-store)?$/.test(i.from)));
  assert.deepEqual(loaders.sort(), [...GLUE].sort());
});

/** The one test that loads glue files: against the Electron stand-in, routed there before it imports them. */
const GLUE_TEST = 'shell.test.ts';

test('pure modules and the tests never import a glue file, but for the stand-in test, which routes electron first', () => {
  const files = readdirSync(here).filter((name) => name.endsWith('.ts') && !GLUE.has(name) && name !== GLUE_TEST);
  const standInTest = readFileSync(join(here, GLUE_TEST), 'utf8');
  const routed = standInTest.indexOf('electron.routeElectronToStandIn();');
  assert.ok(routed > 0, `${GLUE_TEST} routes electron to the stand-in`);
  for (const { from, typeOnly } of imports(join(here, GLUE_TEST))) {
    if (typeOnly || !GLUE.has(from.slice(2).replace(/\.js$/, '.ts'))) continue;
    assert.ok(standInTest.indexOf(`await import('${from}')`) > routed, `${GLUE_TEST} imports ${from} only dynamically, after routing electron to the stand-in`);
  }
  for (const name of files) {
    for (const { from, typeOnly } of imports(join(here, name))) {
      if (typeOnly || !from.startsWith('./')) continue;
      const target = from.slice(2).replace(/\.js$/, '.ts');
      assert.ok(!GLUE.has(target), `${name} imports the glue file ${target}`);
    }
  }
});

test('nothing below the shell imports it (the arrow points one way)', () => {
  for (const path of sources(srcMain)) {
    if (path.startsWith(here)) continue;
    for (const { from } of imports(path)) {
      assert.doesNotMatch(from, /(^|\/)electron(\/|$)/, `${relative(srcMain, path)} imports ${from}`);
    }
  }
});

test('the preload bundles to CommonJS that requires only electron, and exposes exactly LayoverApi as window.layover', async () => {
  const result = await build({
    entryPoints: [join(here, 'preload.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    external: ['electron'],
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.text;
  const required = [...code.matchAll(/require\("([^"]+)"\)/g)].map((match) => match[1]);
  assert.deepEqual([...new Set(required)], ['electron']);

  // Run it the way a sandboxed renderer does: `require` gives only Electron's renderer modules.
  const exposed = new Map<string, Record<string, (...args: unknown[]) => unknown>>();
  const invoked: unknown[][] = [];
  const sent: unknown[][] = [];
  let onEvent: ((event: unknown, payload: unknown) => void) | undefined;
  const electron = {
    contextBridge: { exposeInMainWorld: (name: string, api: Record<string, (...args: unknown[]) => unknown>) => exposed.set(name, api) },
    ipcRenderer: {
      invoke: async (...args: unknown[]) => {
        invoked.push(args);
        return { ok: true, value: { state: 'ready' } };
      },
      send: (...args: unknown[]) => sent.push(args),
      on: (channel: string, handler: (event: unknown, payload: unknown) => void) => {
        assert.equal(channel, IPC_EVENTS);
        onEvent = handler;
      },
    },
  };
  const module = { exports: {} };
  runInNewContext(code, {
    require: (name: string) => {
      if (name !== 'electron') throw new Error(`a sandboxed preload cannot require ${name}`);
      return electron;
    },
    module, exports: module.exports, console,
  });

  assert.deepEqual([...exposed.keys()], ['layover']);
  const api = exposed.get('layover')!;
  assert.deepEqual(Object.keys(api).sort(), [...LAYOVER_METHODS, 'subscribe'].sort());
  assert.deepEqual(await api.getStatus!(), { state: 'ready' });
  assert.deepEqual(invoked, [[IPC_CALL, 'getStatus', undefined]]);
  const events: unknown[] = [];
  const off = api.subscribe!((event: unknown) => events.push(event)) as () => void;
  assert.deepEqual(sent, [[IPC_EVENTS, 'subscribe']]);
  onEvent!({}, { type: 'activity', event: { at: 1, level: 'info', message: 'hello' } });
  assert.deepEqual(events, [{ type: 'activity', event: { at: 1, level: 'info', message: 'hello' } }]);
  off();
  assert.deepEqual(sent, [[IPC_EVENTS, 'subscribe'], [IPC_EVENTS, 'unsubscribe']]);
});
