import { createHttpClient, requestLoginUrl } from '../api/http-client.js';
import type { LayoverApi } from '../api/layover-api.js';
import { findAdminToken, TOKEN_ENV } from '../app/admin-credentials.js';
import { defaultDataDir, findRunningInstance } from '../app/instance.js';
import { CliError } from './errors.js';

/** How every command that asks the running Layover reaches it: its control API, with its admin token. */
export interface AdminConnection {
  api: LayoverApi;
  baseUrl: string;
  token: string;
}

/**
 * Connects to `--admin URL`, or to the instance running from the default data
 * folder. The admin token comes from LAYOVER_TOKEN or the owner-only token
 * file the instance wrote, so the user who started Layover needs no flag.
 */
export async function connectAdmin(adminFlag: string | undefined): Promise<AdminConnection> {
  const baseUrl = adminFlag ? normalizeAdminUrl(adminFlag) : await runningAdminUrl();
  const token = await findAdminToken(baseUrl);
  if (!token) {
    // Nothing listening there is the likelier story: let that failure speak (fetch rejects with its cause).
    await fetch(`${baseUrl}/healthz`);
    throw new CliError(`no admin token for ${baseUrl}: only the user who started that Layover can drive it (or set ${TOKEN_ENV} to its token)`);
  }
  return { api: createHttpClient({ baseUrl, token }), baseUrl, token };
}

/** A URL that logs a browser into the dashboard once, from the running instance. */
export async function dashboardLoginUrl(connection: AdminConnection, page?: string): Promise<string> {
  const url = await requestLoginUrl({ baseUrl: connection.baseUrl, token: connection.token });
  return page ? `${url}&next=${encodeURIComponent(`/#/${page}`)}` : url;
}

/** Opens a URL in the user's browser; a machine without one is not an error (the URL is printed anyway). */
export function openInBrowser(url: string): void {
  // Loaded here, not at the top: every `layover serve` loads this module's neighbours and never opens a browser.
  import('open').then(({ default: open }) => open(url)).then((child) => child.on('error', () => undefined), () => undefined);
}

async function runningAdminUrl(): Promise<string> {
  const instance = await findRunningInstance();
  if (!instance) throw new CliError(`no running Layover found (looked in ${defaultDataDir()}): start it with \`layover serve\`, or pass --admin URL`);
  if (!instance.adminUrl) {
    throw new CliError('the running Layover desktop app has its command line and browser dashboard turned off: turn on Settings → "Dashboard in a browser and the command line"');
  }
  return instance.adminUrl;
}

/** "127.0.0.1:5051" (as serve's --admin takes it) or a URL. */
export function normalizeAdminUrl(value: string): string {
  const withScheme = /^https?:\/\//.test(value) ? value : `http://${value}`;
  try {
    return new URL(withScheme).origin;
  } catch {
    throw new CliError(`--admin expects a URL such as http://127.0.0.1:5051, got "${value}"`);
  }
}
