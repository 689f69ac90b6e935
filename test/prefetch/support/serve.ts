/**
 * `layover serve` with prefetch, as a real child process: the real command
 * (bin/layover.js, compiled: `npm run build` first) once prefetch is wired
 * into it, the temporary serve-with-prefetch.ts until then.
 */
import { join } from 'node:path';
import { startLayoverProcess } from '../../support/layover.js';
import { freePort, LOOPBACK } from '../../support/ports.js';
import { startProcess, type ManagedProcess } from '../../support/process.js';
import { PREFETCH_WIRED } from './wiring.js';

export interface ServeProcess {
  process: ManagedProcess;
  adminUrl: string;
  /** 127.0.0.1:PORT of the mirror. */
  host: string;
}

export async function startServe(dataDir: string, upstream: string, ports?: { mirror: number; admin: number }): Promise<ServeProcess> {
  const chosen = ports ?? { mirror: await freePort(), admin: await freePort() };
  if (PREFETCH_WIRED) {
    const child = await startLayoverProcess({ dataDir, upstream, port: chosen.mirror, adminPort: chosen.admin });
    return { process: child.process, adminUrl: child.adminUrl, host: child.host };
  }
  const child = await startProcess({
    name: 'layover serve (prefetch, temporary wiring)',
    command: process.execPath,
    args: ['--import', 'tsx', join(import.meta.dirname, 'serve-with-prefetch.ts'), '--data', dataDir, '--listen', `${LOOPBACK}:${chosen.mirror}`, '--admin', `${LOOPBACK}:${chosen.admin}`, '--upstream', upstream],
    logFile: join(dataDir, '..', `layover-${chosen.mirror}.log`),
    ready: { kind: 'http', url: `http://${LOOPBACK}:${chosen.admin}/healthz` },
  });
  return { process: child, adminUrl: `http://${LOOPBACK}:${chosen.admin}`, host: `${LOOPBACK}:${chosen.mirror}` };
}

/** How to run the `layover` command line: bin/layover.js once it has the prefetch commands, the temporary entry until then. */
export function layoverCommand(): string[] {
  return PREFETCH_WIRED ? [join(import.meta.dirname, '..', '..', '..', 'bin', 'layover.js')] : ['--import', 'tsx', join(import.meta.dirname, 'cli-entry.ts')];
}
