import { createRequire } from 'node:module';
import type * as Undici from 'undici';

/**
 * undici, loaded on first use. Importing it costs a process about 20 MiB of
 * resident memory, and a `layover serve` that only serves its cache (or has
 * not been asked anything yet) never needs it: it loads with the first
 * upstream request. Synchronous (undici is CommonJS), so call sites stay as
 * they were: `undici().request(...)`, `lazyAgent({...})` for `new Agent({...})`.
 */
const require = createRequire(import.meta.url);
let loaded: typeof Undici | undefined;

export function undici(): typeof Undici {
  loaded ??= require('undici') as typeof Undici;
  return loaded;
}

/**
 * An undici Agent that is created (and undici loaded) when it is first used;
 * closing or destroying one that was never used does nothing.
 */
export function lazyAgent(options: Undici.Agent.Options): Undici.Agent {
  let agent: Undici.Agent | undefined;
  const real = (): Undici.Agent => (agent ??= new (undici().Agent)(options));
  return new Proxy({} as Undici.Agent, {
    get(_target, property) {
      if (!agent && (property === 'close' || property === 'destroy')) return async () => undefined;
      if (!agent && (property === 'closed' || property === 'destroyed')) return false;
      const instance = real();
      const value: unknown = Reflect.get(instance, property, instance);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(instance) : value;
    },
  });
}
