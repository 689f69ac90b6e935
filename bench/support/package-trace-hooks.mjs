// Resolve hook for package-trace.mjs: records each package once, by name.
import { appendFileSync } from 'node:fs';

let file;
const seen = new Set();

export function initialize(data) {
  file = data.file;
}

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(result.url);
  if (match && !seen.has(match[1])) {
    seen.add(match[1]);
    appendFileSync(file, `${match[1]}\n`);
  }
  return result;
}
