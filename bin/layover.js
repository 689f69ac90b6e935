#!/usr/bin/env -S node --max-semi-space-size=2
// The installed entry point: runs the compiled CLI (npm install builds it through the prepare script).
// --max-semi-space-size=2 (MiB) caps V8's young generation, which otherwise grows to 16 MiB per
// semi-space under a pull's garbage and stays: a `layover serve` 16 clients pull one blob from peaks
// about 50 MiB lower with it. V8 reads the flag only when the process starts (v8.setFlagsFromString
// later has no effect, and NODE_OPTIONS is the user's), so it is here; run as `node bin/layover.js`,
// pass it too. Electron sets it with app.commandLine.appendSwitch('js-flags', ...).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/main/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(compiled))) {
  console.error('layover: not built yet: run `npm install` (or `npm run build`) in the Layover folder first');
  process.exit(1);
}
const { main } = await import(compiled.href);
await main(process.argv);
