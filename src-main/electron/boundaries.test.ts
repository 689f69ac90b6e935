/**
 * The layer map of DESIGN.md holds: core imports nothing above it; the
 * features (mirror, prefetch, runtimes, control, demo, mesh, bundles) never
 * import each other; src-main/api imports nothing else; the CLI is a thin
 * client of the app; the renderer imports only src-main/api; only the shell
 * imports Electron.
 *
 * And the shell stays thin and testable: only the glue files load Electron,
 * the pure modules never reach the glue, nothing below imports the shell,
 * and the preload, bundled the way the build bundles it, needs nothing but
 * Electron and exposes exactly LayoverApi.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
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

// ---------------------------------------------------------------- the layer map

const repoRoot = join(srcMain, '..');
const srcRenderer = join(repoRoot, 'src-renderer');

/** The features: each may import core and api, never another feature. */
const FEATURES = ['mirror', 'prefetch', 'runtimes', 'control', 'demo', 'mesh', 'bundles'] as const;

/** Room -> the other rooms it may import (DESIGN.md, "Layers, one folder each"). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  api: [],
  core: ['api'],
  ...Object.fromEntries(FEATURES.map((feature) => [feature, ['core', 'api']])),
  app: ['core', 'api', ...FEATURES],
  // A thin client of the running app: it asks (through api) and prints; it runs no feature itself.
  cli: ['app', 'core', 'api'],
  electron: ['app', 'core', 'api'],
  renderer: ['api'],
};

/**
 * Drops comments and the contents of every string that does not name a
 * module (after `from`, `import`, `import(`, `require(`), so an import shown
 * in a comment or in a string is not taken for one.
 */
function codeOnly(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i += 1;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      out += text.slice(i, end < 0 ? text.length : end + 2).replace(/[^\n]/g, ' ');
      i = end < 0 ? text.length : end + 1;
    } else if (c === '\'' || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      const namesModule = /(\bfrom|\bimport|\bimport\s*\(|\brequire\s*\()\s*$/.test(out);
      out += namesModule ? text.slice(i, j + 1) : `${c}${' '.repeat(Math.max(0, j - i - 1))}${c}`;
      i = j;
    } else {
      out += c;
    }
  }
  return out;
}

/** Every module a file names: import/export-from (type-only too), side-effect imports, import() and require(). */
export function importSpecifiers(text: string): string[] {
  const code = codeOnly(text);
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?(?:[\w$*{}\s,]+?\s+from\s*)?['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((match) => match[1]!));
}

/** "core", "prefetch", "renderer"...; undefined outside src-main and src-renderer (test kit, config). */
function roomOf(path: string): string | undefined {
  if (path === srcRenderer || path.startsWith(srcRenderer + sep)) return 'renderer';
  if (!path.startsWith(srcMain + sep)) return undefined;
  const [room, ...rest] = relative(srcMain, path).split(sep);
  return rest.length > 0 ? room : '(src-main root)';
}

function codeFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules') return [];
    if (statSync(path).isDirectory()) return codeFiles(path);
    return /\.(ts|tsx|mts|cts)$/.test(name) ? [path] : [];
  });
}

/** Each import that crosses the map, as "from-file imports specifier (room -> room)". */
export function layerViolations(files: Array<{ path: string; text: string }>): string[] {
  const found: string[] = [];
  for (const { path, text } of files) {
    const room = roomOf(path);
    if (room === undefined) continue;
    const allowed = MAY_IMPORT[room];
    const where = relative(repoRoot, path);
    if (!allowed) {
      found.push(`${where}: the room ${room} is not on the layer map (add it to MAY_IMPORT and DESIGN.md)`);
      continue;
    }
    for (const specifier of importSpecifiers(text)) {
      if (/^electron(-store)?(\/|$)/.test(specifier)) {
        if (room !== 'electron') found.push(`${where} imports ${specifier}: only src-main/electron may import Electron`);
        continue;
      }
      if (!specifier.startsWith('.')) continue; // a package
      const target = resolve(dirname(path), specifier);
      const targetRoom = roomOf(target);
      if (targetRoom === room) continue;
      // Tests may use the test kit (test/support); nothing else outside the layers.
      if (targetRoom === undefined && /\.test\.tsx?$/.test(path) && target.startsWith(join(repoRoot, 'test') + sep)) continue;
      if (targetRoom !== undefined && allowed.includes(targetRoom)) continue;
      found.push(`${where} imports ${specifier} (${room} -> ${targetRoom ?? relative(repoRoot, target)})`);
    }
  }
  return found;
}

function allLayerFiles(): Array<{ path: string; text: string }> {
  return [...codeFiles(srcMain), ...codeFiles(srcRenderer)].map((path) => ({ path, text: readFileSync(path, 'utf8') }));
}

test('no import crosses the layer map', () => {
  assert.deepEqual(layerViolations(allLayerFiles()), []);
});

test('the layer check sees every kind of import, and only real ones', () => {
  const file = (room: string, text: string) => ({ path: join(srcMain, room, 'x.ts'), text });
  const caught = layerViolations([
    file('core', "import { LayoverCore } from '../app/layover.js';"),
    file('prefetch', "import type {\n  RegistryRouter,\n} from '../mirror/registry-routing.js';"),
    file('demo', "export { startCore } from '../app/demo-core.js';"),
    file('mesh', "const peers = await import('../bundles/export.js');"),
    file('api', "import '../core/store/digest.js';"),
    file('cli', "import { runDemoScenario } from '../demo/demo-scenario.js';"),
    file('control', "import { app } from 'electron';"),
    { path: join(srcRenderer, 'lib', 'x.ts'), text: "import { parseSettings } from '../../src-main/app/settings.js';" },
    file('newroom', "import { x } from './y.js';"),
  ]);
  assert.equal(caught.length, 9, caught.join('\n'));
  assert.deepEqual(layerViolations([
    file('prefetch', "// import { x } from '../mirror/routes.js';\n/* import('../demo/y.js') */\nconst url = 'http://example.com/import';\nimport { y } from '../core/store/digest.js';"),
    file('app', "import { createDemoApi } from '../demo/demo-service.js';\nimport type { Status } from '../api/types.js';"),
    file('electron', "import { app } from 'electron';"),
    { path: join(srcRenderer, 'lib', 'x.ts'), text: "import { formatBytes } from '../../src-main/api/format.js';" },
  ]), []);
});

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
