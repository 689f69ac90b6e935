// Loaded with `node --import` by bench/idle-memory.ts: writes the name of every npm
// package the process imports (ESM resolution) to LAYOVER_PACKAGE_TRACE, one a line.
import { register } from 'node:module';

if (process.env.LAYOVER_PACKAGE_TRACE) {
  register(new URL('./package-trace-hooks.mjs', import.meta.url), { data: { file: process.env.LAYOVER_PACKAGE_TRACE } });
}
