/**
 * `layover serve` with prefetch, as a real child process. Until the lead wires
 * prefetch into serve, this runs the temporary wiring (serve-with-prefetch.ts);
 * afterwards it is startLayoverProcess from test/support/layover.ts.
 */
import { join } from 'node:path';
import { freePort, LOOPBACK } from '../../support/ports.js';
import { startProcess, type ManagedProcess } from '../../support/process.js';

const SERVE_WITH_PREFETCH = join(import.meta.dirname, 'serve-with-prefetch.ts');

export interface ServeProcess {
  process: ManagedProcess;
  adminUrl: string;
  /** 127.0.0.1:PORT of the mirror. */
  host: string;
  ports: { mirror: number; admin: number };
}

export async function startServe(dataDir: string, upstream: string, ports?: { mirror: number; admin: number }): Promise<ServeProcess> {
  const chosen = ports ?? { mirror: await freePort(), admin: await freePort() };
  const child = await startProcess({
    name: 'layover serve (prefetch)',
    command: process.execPath,
    args: ['--import', 'tsx', SERVE_WITH_PREFETCH, '--data', dataDir, '--listen', `${LOOPBACK}:${chosen.mirror}`, '--admin', `${LOOPBACK}:${chosen.admin}`, '--upstream', upstream],
    logFile: join(dataDir, '..', 'layover.log'),
    ready: { kind: 'http', url: `http://${LOOPBACK}:${chosen.admin}/healthz` },
  });
  return { process: child, adminUrl: `http://${LOOPBACK}:${chosen.admin}`, host: `${LOOPBACK}:${chosen.mirror}`, ports: chosen };
}
