/** `layover serve` as a real child process (bin/layover.js, compiled: `npm run build` first), and the CLI to talk to it. */
import { join } from 'node:path';
import { startLayoverProcess } from '../../support/layover.js';
import { freePort } from '../../support/ports.js';
import type { ManagedProcess } from '../../support/process.js';

export interface ServeProcess {
  process: ManagedProcess;
  adminUrl: string;
  /** 127.0.0.1:PORT of the mirror. */
  host: string;
}

export async function startServe(dataDir: string, upstream: string, ports?: { mirror: number; admin: number }): Promise<ServeProcess> {
  const chosen = ports ?? { mirror: await freePort(), admin: await freePort() };
  const child = await startLayoverProcess({ dataDir, upstream, port: chosen.mirror, adminPort: chosen.admin });
  return { process: child.process, adminUrl: child.adminUrl, host: child.host };
}

/** The arguments that run the `layover` command line with node. */
export function layoverCommand(): string[] {
  return [join(import.meta.dirname, '..', '..', '..', 'bin', 'layover.js')];
}
