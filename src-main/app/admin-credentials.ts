import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { defaultDataDir } from './instance.js';
import { formatHostPort, type HostPort } from './listen.js';

/**
 * The admin token of each running instance sits in a file named after its
 * admin address, in a folder only its owner can read. So the CLI run by the
 * same user finds the token by itself (`layover prefetch … --admin URL` needs
 * no new flag), while another user of the machine, or a web page, has no way
 * to it. LAYOVER_TOKEN overrides the lookup.
 */
export const TOKEN_ENV = 'LAYOVER_TOKEN';

/** Per user: $LAYOVER_RUNTIME_DIR, else $XDG_RUNTIME_DIR/layover (a private tmpfs on most desktops), else the data folder. */
export function tokenDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LAYOVER_RUNTIME_DIR) return env.LAYOVER_RUNTIME_DIR;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'layover');
  return join(defaultDataDir(), 'admin-tokens');
}

function tokenFile(address: HostPort, env?: NodeJS.ProcessEnv): string {
  return join(tokenDir(env), `${formatHostPort(address).replace(/[^A-Za-z0-9.-]/g, '_')}.token`);
}

export async function writeAdminToken(address: HostPort, token: string): Promise<void> {
  await mkdir(tokenDir(), { recursive: true, mode: 0o700 });
  await writeFileAtomic(tokenFile(address), `${token}\n`, { mode: 0o600 });
}

/** Removes the file, unless another instance has since taken the address and written its own. */
export async function removeAdminToken(address: HostPort, token: string): Promise<void> {
  const file = tokenFile(address);
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current?.trim() === token) await rm(file, { force: true });
}

/**
 * The token for the admin listener at this URL: LAYOVER_TOKEN, else the token
 * file of that address (an instance listening on every interface is found by
 * its port too). Undefined when none is readable.
 */
export async function findAdminToken(adminUrl: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (env[TOKEN_ENV]) return env[TOKEN_ENV];
  const url = new URL(adminUrl);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const aliases = host === 'localhost' ? ['127.0.0.1', '::1'] : [];
  for (const candidate of [host, ...aliases, '0.0.0.0', '::']) {
    const token = await readFile(tokenFile({ host: candidate, port }, env), 'utf8').catch(() => undefined);
    if (token?.trim()) return token.trim();
  }
  return undefined;
}
