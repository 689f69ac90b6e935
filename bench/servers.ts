/**
 * The programs under test, each a real process on loopback:
 * - Layover: the compiled `layover serve` (bin/layover.js), a child process so
 *   its memory is its own;
 * - the peer: Debian's docker-registry (CNCF distribution 2.8) in proxy mode;
 * - nginx serving Layover's blob files as plain static files: the ceiling for
 *   serving bytes from disk.
 * Both caches reach the upstream through the same link shaper.
 */
import { existsSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, LOOPBACK } from '../test/support/ports.js';
import { startProcess, type ManagedProcess } from '../test/support/process.js';
import { startRegistry, type TestRegistry } from '../test/support/registry.js';
import { findProcess, installedNodeFlags, processTree } from './memory.js';

export type ServerName = 'layover' | 'distribution' | 'nginx';

export const SERVER_LABELS: Record<ServerName | 'direct', string> = {
  layover: 'Layover',
  distribution: 'distribution (proxy)',
  nginx: 'nginx (static files)',
  direct: 'upstream over the link, no cache',
};

/** A server the bench points its client at. */
export interface BenchServer {
  name: ServerName;
  /** http://127.0.0.1:PORT */
  url: string;
  /** Processes whose memory is the server's. */
  pids(): number[];
  stop(): Promise<void>;
}

const REPO_ROOT = join(import.meta.dirname, '..');
export const LAYOVER_CLI = join(REPO_ROOT, 'bin', 'layover.js');
export const NGINX_BINARY = '/usr/sbin/nginx';

export interface LayoverServer extends BenchServer {
  dataDir: string;
  /** Where verified blobs live: blobs/sha256/<2 hex>/<hex>, what nginx serves. */
  blobsDir: string;
  process: ManagedProcess;
}

export interface StartLayoverOptions {
  upstream: string;
  workDir: string;
  name: string;
  /** Written to settings.json; Layover's default is 300. */
  tagFreshnessSeconds?: number;
  /** More of settings.json (say, the office limits). */
  settings?: Record<string, unknown>;
  cpuProfileDir?: string;
  /** Extra node flags before the CLI (say, --import of a tracer), and extra environment. */
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
}

/** `layover serve` as a user starts it, with its own data dir and a free mirror and admin port. */
export async function startLayoverServer(options: StartLayoverOptions): Promise<LayoverServer> {
  const dataDir = join(options.workDir, options.name);
  await mkdir(dataDir, { recursive: true });
  if (options.tagFreshnessSeconds !== undefined || options.settings) {
    const settings = { schemaVersion: 1, ...options.settings, ...(options.tagFreshnessSeconds !== undefined ? { tagFreshnessSeconds: options.tagFreshnessSeconds } : {}) };
    await writeFile(join(dataDir, 'settings.json'), JSON.stringify(settings));
  }
  const [port, adminPort] = [await freePort(), await freePort()];
  const url = `http://${LOOPBACK}:${port}`;
  const profiling = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`, `--cpu-prof-name=${options.name}.cpuprofile`] : [];
  const child = await startProcess({
    name: options.name,
    command: process.execPath,
    args: [...profiling, ...installedNodeFlags(), ...(options.nodeArgs ?? []), LAYOVER_CLI, 'serve', '--data', dataDir, '--listen', `${LOOPBACK}:${port}`, '--admin', `${LOOPBACK}:${adminPort}`, '--upstream', options.upstream],
    logFile: join(options.workDir, `${options.name}.log`),
    ready: { kind: 'http', url: `${url}/v2/` },
    ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
  });
  return {
    name: 'layover',
    url,
    dataDir,
    blobsDir: join(dataDir, 'blobs'),
    process: child,
    pids: () => [child.pid],
    stop: async () => {
      await child.stop({ graceMs: 10_000 });
    },
  };
}

export interface PeerServer extends BenchServer {
  registry: TestRegistry;
}

/** docker-registry in proxy mode: the pull-through cache most offices would otherwise deploy. */
export async function startPeerServer(remoteUrl: string): Promise<PeerServer> {
  const registry = await startRegistry({ name: 'peer', proxy: { remoteUrl } });
  const pid = findProcess(registry.configFile);
  if (pid === undefined) throw new Error(`cannot find the docker-registry process serving ${registry.configFile}`);
  return {
    name: 'distribution',
    url: registry.url,
    registry,
    pids: () => [pid],
    stop: () => registry.destroy(),
  };
}

/** True once the peer holds the whole blob in its storage (its proxy stores blobs in the background). */
export async function peerHasBlob(peer: PeerServer, digest: string, size: number): Promise<boolean> {
  const hex = digest.slice('sha256:'.length);
  const path = join(peer.registry.storageDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
  const info = await stat(path).catch(() => undefined);
  return info?.size === size;
}

export function nginxAvailable(): boolean {
  return existsSync(NGINX_BINARY);
}

/**
 * nginx with Debian's defaults for static files (sendfile, tcp_nopush),
 * mapping /v2/<name>/blobs/sha256:<hex> onto Layover's blob files. It runs
 * as root because the data dir is private to its owner.
 */
export async function startNginxServer(blobsDir: string, workDir: string): Promise<BenchServer> {
  const dir = join(workDir, 'nginx');
  await mkdir(join(dir, 'temp'), { recursive: true });
  const port = await freePort();
  const configFile = join(dir, 'nginx.conf');
  await writeFile(configFile, nginxConfig(port, blobsDir, dir));
  const child = await startProcess({
    name: 'nginx',
    command: NGINX_BINARY,
    args: ['-p', dir, '-c', configFile],
    logFile: join(dir, 'nginx.out'),
    ready: { kind: 'http', url: `http://${LOOPBACK}:${port}/v2/` },
  });
  return {
    name: 'nginx',
    url: `http://${LOOPBACK}:${port}`,
    pids: () => processTree(child.pid),
    stop: async () => {
      await child.stop({ signal: 'SIGQUIT', graceMs: 5_000 });
    },
  };
}

function nginxConfig(port: number, blobsDir: string, dir: string): string {
  const temp = (name: string) => `${name}_temp_path ${join(dir, 'temp', name)};`;
  return `daemon off;
user root;
worker_processes auto;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}
  server {
    listen ${LOOPBACK}:${port};
    location = /v2/ { default_type application/json; return 200 '{}'; }
    location ~ "^/v2/.+/blobs/sha256:(([0-9a-f]{2})[0-9a-f]{62})$" {
      alias ${blobsDir}/sha256/$2/$1;
      default_type application/octet-stream;
    }
  }
}
`;
}
