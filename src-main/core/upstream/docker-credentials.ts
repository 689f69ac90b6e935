import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DOCKER_HUB, DOCKER_HUB_ALIASES } from '../oci/docker-hub.js';

/** What a registry needs to let us in: a username/password, or an identity (refresh) token. */
export interface Credentials {
  username?: string;
  password?: string;
  identityToken?: string;
}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** Docker stores Hub credentials under this legacy key. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';
const DOCKER_HUB_HOSTS = new Set([DOCKER_HUB, ...DOCKER_HUB_ALIASES]);
const HELPER_TIMEOUT_MS = 10_000;

/**
 * Reads credentials the way the docker CLI does, from $DOCKER_CONFIG/config.json
 * (or ~/.docker/config.json), looked up by host[:port]. Like the CLI, it picks
 * ONE store: the host's `credHelpers` entry, else `credsStore`, else the
 * `auths` entries. A chosen helper's answer is final, "not found" included:
 * with a store configured, `docker login` leaves only an empty marker in
 * `auths`, and anything else there is a stale leftover the CLI ignores too.
 */
export class DockerCredentials {
  constructor(
    private readonly configDir = process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'),
    /** The environment helpers run in (their PATH finds docker-credential-<name>). */
    private readonly helperEnvironment: NodeJS.ProcessEnv = process.env,
  ) {}

  async lookup(hostPort: string): Promise<Credentials | undefined> {
    const config = await this.readConfig();
    if (!config) return undefined;
    const key = DOCKER_HUB_HOSTS.has(hostPort) ? DOCKER_HUB_KEY : hostPort;
    const helper = config.credHelpers?.[key] ?? config.credHelpers?.[hostPort] ?? config.credsStore;
    return helper ? runHelper(helper, key, this.helperEnvironment) : findAuthEntry(config.auths ?? {}, key);
  }

  private async readConfig(): Promise<DockerConfigFile | undefined> {
    try {
      return JSON.parse(await readFile(join(this.configDir, 'config.json'), 'utf8')) as DockerConfigFile;
    } catch {
      return undefined;
    }
  }
}

/** auths keys come as "host", "https://host", "https://host/v1/": compare by host[:port]. */
function findAuthEntry(auths: NonNullable<DockerConfigFile['auths']>, key: string): Credentials | undefined {
  const wanted = hostOfKey(key);
  for (const [entryKey, entry] of Object.entries(auths)) {
    if (hostOfKey(entryKey) !== wanted) continue;
    if (entry.identitytoken) return { identityToken: entry.identitytoken };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const separator = decoded.indexOf(':');
      if (separator > 0) return { username: decoded.slice(0, separator), password: decoded.slice(separator + 1) };
    }
    if (entry.username && entry.password) return { username: entry.username, password: entry.password };
  }
  return undefined;
}

function hostOfKey(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
}

/** Runs docker-credential-<helper> get, which reads the server URL on stdin and prints JSON. */
function runHelper(helper: string, serverUrl: string, env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  return new Promise((resolve) => {
    const options = { timeout: HELPER_TIMEOUT_MS, env };
    const child = execFile(`docker-credential-${helper}`, ['get'], options, (error, stdout) => {
      if (error) return resolve(undefined); // "credentials not found" is an exit code too
      try {
        const { Username, Secret } = JSON.parse(stdout) as { Username?: string; Secret?: string };
        if (!Secret) return resolve(undefined);
        resolve(Username === '<token>' ? { identityToken: Secret } : { username: Username, password: Secret });
      } catch {
        resolve(undefined);
      }
    });
    child.stdin?.end(serverUrl);
  });
}
