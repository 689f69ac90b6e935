#!/usr/bin/env node
// The installed entry point: runs the compiled CLI (npm install builds it through the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/main/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(compiled))) {
  console.error('layover: not built yet: run `npm install` (or `npm run build`) in the Layover folder first');
  process.exit(1);
}
const { main } = await import(compiled.href);
await main(process.argv);
