/**
 * A real Docker Engine (Debian's dockerd 20.10) for tests, isolated from any
 * system docker: its own data root, exec root, pid file, unix socket,
 * daemon.json and containerd namespaces, all under one short temp
 * dir that stop() unmounts and removes.
 *
 * What it takes to run here (root in a container, cgroup v1, no network):
 * - `--storage-driver vfs`: works on any filesystem, needs no overlay mounts.
 * - `--iptables=false --ip6tables=false --bridge=none`: no NAT rules, no
 *   docker0; pulls do not need container networking.
 * - `--exec-root` on a SHORT path: containerd's sockets live under it and
 *   unix socket paths are limited to 108 bytes.
 * - `--containerd-namespace`/`--containerd-plugins-namespace`: dockerd starts
 *   its own containerd under the exec root, unless /run/containerd/containerd.sock
 *   exists, in which case it shares that system containerd; unique namespaces
 *   keep us apart from a system dockerd there.
 * - dockerd bind-mounts its data root onto itself and undoes it on a clean
 *   shutdown; after a SIGKILL the mount stays, so cleanup unmounts whatever is
 *   mounted under our dir before removing it.
 * Left outside our dir, because 20.10 hard-codes them: /var/run/docker/plugins
 * (plugin discovery) and /etc/docker/key.json (the engine ID key; its path is
 * only settable as "deprecated-key-path" inside daemon.json, which is the
 * caller's file, so we leave it and every test dockerd shares one engine ID).
 *
 * The CLI runs as /usr/bin/docker -H unix://... with DOCKER_CONFIG in our dir,
 * so it never reads or writes ~/.docker (credentials from `docker login` stay here).
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import {
  makeTempDir,
  onExitCleanup,
  removeTempDir,
  runChecked,
  runCommand,
  startProcess,
  type ManagedProcess,
  type RunResult,
} from './process.js';

export const DOCKERD_BINARY = '/usr/sbin/dockerd';
/** Debian's 20.10 client, matching the daemon; /usr/local/bin/docker is a newer one. */
export const DOCKER_CLI = '/usr/bin/docker';

/** Room left for the longest socket dockerd/containerd put under our dir (x/containerd/containerd.sock.ttrpc). */
const MAX_BASE_DIR_LENGTH = 60;

export interface StartDockerdOptions {
  /** daemon.json path; created with {} (or `daemonConfig`) if it does not exist. Default: inside the dockerd dir. */
  configFile?: string;
  /** Written to configFile before start (overwrites it). */
  daemonConfig?: Record<string, unknown>;
  /** --debug: dockerd then logs every registry request it makes (useful to see mirror attempts). */
  debug?: boolean;
  extraArgs?: string[];
  /** Added to dockerd's environment, e.g. HTTPS_PROXY to keep its registry traffic on this machine. */
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
}

export interface DockerInfo {
  ServerVersion?: string;
  Driver?: string;
  DockerRootDir?: string;
  RegistryConfig?: {
    Mirrors?: string[];
    InsecureRegistryCIDRs?: string[];
    IndexConfigs?: Record<string, { Name: string; Mirrors: string[]; Secure: boolean; Official: boolean }>;
  };
  [key: string]: unknown;
}

export interface TestDockerd {
  readonly dir: string;
  readonly socketPath: string;
  /** unix://<socketPath>, for DOCKER_HOST or -H. */
  readonly host: string;
  readonly pidFile: string;
  readonly pid: number;
  readonly configFile: string;
  readonly dataRoot: string;
  readonly logFile: string;
  /** DOCKER_CONFIG used by docker(): where `docker login` stores credentials. */
  readonly clientConfigDir: string;
  /** Runs the docker CLI against this daemon; never throws on a non-zero exit. */
  docker(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** Like docker(), but a non-zero exit throws with the CLI's stderr. */
  dockerChecked(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** GET /info over the socket. */
  info(): Promise<DockerInfo>;
  /** A dockerode client for this daemon. */
  api(): Docker;
  /** Overwrites daemon.json. Call reload() to apply reloadable keys (registry-mirrors, insecure-registries, ...). */
  writeConfig(config: Record<string, unknown>): Promise<void>;
  readConfig(): Promise<Record<string, unknown>>;
  /** SIGHUP, then waits for dockerd to log that it reloaded; throws with its error if it did not. */
  reload(timeoutMs?: number): Promise<void>;
  tail(lines?: number): string;
  isRunning(): boolean;
  /** Stops dockerd (and its containerd), unmounts, removes the dir. Calling it again does nothing. */
  stop(): Promise<void>;
}

export async function startDockerd(options: StartDockerdOptions = {}): Promise<TestDockerd> {
  const dir = await makeTempDir('dockerd', shortParentDir());
  const paths = dockerdPaths(dir, options.configFile);
  const unregisterExitCleanup = onExitCleanup(() => unmountEverythingUnder(dir));
  try {
    await mkdir(paths.clientConfigDir, { recursive: true });
    if (options.daemonConfig) await writeJson(paths.configFile, options.daemonConfig);
    else if (!existsSync(paths.configFile)) await writeJson(paths.configFile, {});
    const namespace = `layover-test-${randomBytes(4).toString('hex')}`;
    const daemon = await startProcess({
      name: `dockerd (${paths.socketPath})`,
      command: DOCKERD_BINARY,
      args: dockerdArgs(paths, namespace, options),
      logFile: paths.logFile,
      ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
      ready: { kind: 'http', url: 'http://localhost/_ping', socketPath: paths.socketPath, accept: (status) => status === 200 },
      readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
    });
    return new RealDockerd(dir, paths, daemon, unregisterExitCleanup);
  } catch (error) {
    unmountEverythingUnder(dir);
    unregisterExitCleanup();
    await removeTempDir(dir);
    throw error;
  }
}

interface DockerdPaths {
  socketPath: string;
  pidFile: string;
  configFile: string;
  dataRoot: string;
  execRoot: string;
  logFile: string;
  clientConfigDir: string;
}

function dockerdPaths(dir: string, configFile: string | undefined): DockerdPaths {
  return {
    socketPath: join(dir, 'docker.sock'),
    pidFile: join(dir, 'docker.pid'),
    configFile: configFile ?? join(dir, 'daemon.json'),
    dataRoot: join(dir, 'data'),
    execRoot: join(dir, 'x'),
    logFile: join(dir, 'dockerd.log'),
    clientConfigDir: join(dir, 'client'),
  };
}

function dockerdArgs(paths: DockerdPaths, namespace: string, options: StartDockerdOptions): string[] {
  return [
    '--host',
    `unix://${paths.socketPath}`,
    '--data-root',
    paths.dataRoot,
    '--exec-root',
    paths.execRoot,
    '--pidfile',
    paths.pidFile,
    '--config-file',
    paths.configFile,
    '--containerd-namespace',
    namespace,
    '--containerd-plugins-namespace',
    `${namespace}-plugins`,
    '--storage-driver',
    'vfs',
    '--iptables=false',
    '--ip6tables=false',
    '--bridge=none',
    ...(options.debug ? ['--debug'] : []),
    ...(options.extraArgs ?? []),
  ];
}

/** os.tmpdir() unless it is too long for the sockets under our dir; then /tmp. */
function shortParentDir(): string {
  const parent = tmpdir();
  return parent.length + '/layover-dockerd-XXXXXX'.length <= MAX_BASE_DIR_LENGTH ? parent : '/tmp';
}

class RealDockerd implements TestDockerd {
  readonly socketPath: string;
  readonly host: string;
  readonly pidFile: string;
  readonly pid: number;
  readonly configFile: string;
  readonly dataRoot: string;
  readonly logFile: string;
  readonly clientConfigDir: string;
  private stopped = false;

  constructor(
    readonly dir: string,
    paths: DockerdPaths,
    private readonly daemon: ManagedProcess,
    private readonly unregisterExitCleanup: () => void,
  ) {
    this.socketPath = paths.socketPath;
    this.host = `unix://${paths.socketPath}`;
    this.pidFile = paths.pidFile;
    this.pid = daemon.pid;
    this.configFile = paths.configFile;
    this.dataRoot = paths.dataRoot;
    this.logFile = paths.logFile;
    this.clientConfigDir = paths.clientConfigDir;
  }

  docker(args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return runCommand(DOCKER_CLI, ['--host', this.host, ...args], { ...options, env: this.cliEnv() });
  }

  dockerChecked(args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return runChecked(DOCKER_CLI, ['--host', this.host, ...args], { ...options, env: this.cliEnv() });
  }

  private cliEnv(): NodeJS.ProcessEnv {
    const { DOCKER_HOST: _host, DOCKER_CONTEXT: _context, DOCKER_TLS_VERIFY: _tls, DOCKER_CERT_PATH: _certs, ...rest } = process.env;
    return { ...rest, DOCKER_CONFIG: this.clientConfigDir, DOCKER_CLI_HINTS: 'false' };
  }

  info(): Promise<DockerInfo> {
    return getJsonOverSocket(this.socketPath, '/info') as Promise<DockerInfo>;
  }

  api(): Docker {
    return new Docker({ socketPath: this.socketPath });
  }

  async writeConfig(config: Record<string, unknown>): Promise<void> {
    await writeJson(this.configFile, config);
  }

  async readConfig(): Promise<Record<string, unknown>> {
    return JSON.parse(await readFile(this.configFile, 'utf8')) as Record<string, unknown>;
  }

  async reload(timeoutMs = 10_000): Promise<void> {
    // Both outcomes are logged at info/error level by daemon/reload.go and cmd/dockerd.
    const outcome = this.daemon.waitForLine(/Reloaded configuration|Error reconfiguring the daemon|unable to configure the Docker daemon/, {
      timeoutMs,
      fromNow: true,
    });
    this.daemon.signal('SIGHUP');
    const line = await outcome;
    if (!line.includes('Reloaded configuration')) throw new Error(`dockerd did not reload ${this.configFile}: ${line}`);
  }

  tail(lines = 40): string {
    return this.daemon.tail(lines);
  }

  isRunning(): boolean {
    return this.daemon.isRunning();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.daemon.stop({ graceMs: 20_000 });
    unmountEverythingUnder(this.dir);
    this.unregisterExitCleanup();
    await removeTempDir(this.dir);
  }
}

function getJsonOverSocket(socketPath: string, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ socketPath, path, method: 'GET', timeout: 10_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (response.statusCode !== 200) reject(new Error(`GET ${path} on ${socketPath}: ${response.statusCode} ${body}`));
        else resolve(JSON.parse(body));
      });
    });
    request.once('timeout', () => request.destroy(new Error(`GET ${path} on ${socketPath} timed out`)));
    request.once('error', reject);
    request.end();
  });
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Unmounts every mount point at or below dir, deepest first. Synchronous so
 * the process-exit hook can use it after dockerd was SIGKILLed.
 */
export function unmountEverythingUnder(dir: string): void {
  for (const mountPoint of mountPointsUnder(dir)) {
    const result = spawnSync('umount', [mountPoint], { encoding: 'utf8' });
    // A busy mount is detached lazily so the directory can still be removed.
    if (result.status !== 0) spawnSync('umount', ['-l', mountPoint]);
  }
}

function mountPointsUnder(dir: string): string[] {
  const mountInfo = readFileSync('/proc/self/mountinfo', 'utf8');
  return mountInfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined)
    .map(unescapeMountPath)
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** mountinfo escapes space, tab, newline and backslash as \\ooo octal. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
