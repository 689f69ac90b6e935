import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { errorMessage, RuntimeError } from './errors.js';

/**
 * Finding the Docker Engine the person uses, the way the docker CLI would:
 * DOCKER_HOST when set, else the system socket, the rootless socket, and
 * Docker Desktop's sockets.
 */

export interface DockerConnection {
  /** As a person would write it: "unix:///var/run/docker.sock". */
  address: string;
  options: Docker.DockerOptions;
  /** Whether the daemon runs on this machine, so that its daemon.json and process are within reach. */
  local: boolean;
}

export interface DockerEnvironment {
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  home: string;
  uid?: number;
}

export function currentEnvironment(): DockerEnvironment {
  return { env: process.env, platform: process.platform, home: homedir(), uid: process.getuid?.() };
}

/** Where to look, in order. DOCKER_HOST, when set, is the only answer, as for the docker CLI. */
export function dockerConnectionCandidates(environment: DockerEnvironment = currentEnvironment()): DockerConnection[] {
  const dockerHost = environment.env.DOCKER_HOST;
  // dockerode reads DOCKER_HOST (and DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) itself when given no address.
  if (dockerHost) return [{ address: dockerHost, options: {}, local: isLocalDockerHost(dockerHost) }];
  return defaultSocketPaths(environment).map((socketPath) => ({
    address: environment.platform === 'win32' ? `npipe://${socketPath}` : `unix://${socketPath}`,
    options: { socketPath },
    local: true,
  }));
}

function defaultSocketPaths({ env, platform, home, uid }: DockerEnvironment): string[] {
  if (platform === 'win32') return ['//./pipe/docker_engine', '//./pipe/dockerDesktopLinuxEngine'];
  const runtimeDir = env.XDG_RUNTIME_DIR ?? (uid === undefined ? undefined : `/run/user/${uid}`);
  return [
    '/var/run/docker.sock',
    ...(runtimeDir === undefined ? [] : [join(runtimeDir, 'docker.sock')]), // rootless dockerd
    join(home, '.docker', 'run', 'docker.sock'), // Docker Desktop on macOS
    join(home, '.docker', 'desktop', 'docker.sock'), // Docker Desktop on Linux
  ];
}

function isLocalDockerHost(dockerHost: string): boolean {
  if (/^(unix|npipe):\/\//.test(dockerHost)) return true;
  try {
    const { hostname } = new URL(dockerHost.includes('://') ? dockerHost : `tcp://${dockerHost}`);
    return ['localhost', '127.0.0.1', '[::1]'].includes(hostname);
  } catch {
    return false;
  }
}

/** What Layover needs to know about an engine, read from its GET /info. */
export interface EngineFacts {
  version: string;
  /** Docker Desktop runs the engine in a VM: its 127.0.0.1 is the VM, and it applies daemon.json only when restarted. */
  isDesktop: boolean;
  isRootless: boolean;
  /** Recent engines with the containerd image store read /etc/docker/certs.d/<host>/hosts.toml. */
  usesContainerdImageStore: boolean;
  /** The registry mirrors the engine uses now, as it reports them. */
  mirrors: string[];
}

/** The engine Layover found, and how to talk to it. */
export interface DockerEngine extends EngineFacts {
  connection: DockerConnection;
  docker: Docker;
}

/** What GET /info says, in Layover's terms. Docker Desktop names itself in OperatingSystem ("Docker Desktop") and Name. */
export function engineFacts(info: DockerInfo): EngineFacts {
  return {
    version: info.ServerVersion ?? 'unknown',
    isDesktop: /docker desktop/i.test(info.OperatingSystem ?? '') || info.Name === 'docker-desktop',
    isRootless: (info.SecurityOptions ?? []).some((option) => option.includes('name=rootless')),
    usesContainerdImageStore: (info.DriverStatus ?? []).some(
      ([key, value]) => key === 'driver-type' && value === 'io.containerd.snapshotter.v1',
    ),
    mirrors: info.RegistryConfig?.Mirrors ?? [],
  };
}

/** Probes each candidate in turn; the first that answers is the engine. */
export async function findDockerEngine(candidates = dockerConnectionCandidates()): Promise<DockerEngine> {
  const failures: string[] = [];
  for (const connection of candidates) {
    const socketPath = connection.options.socketPath;
    // A missing socket file is simply not this install; a Windows pipe (//./pipe/...) cannot be checked that way.
    if (socketPath && !socketPath.startsWith('//') && !existsSync(socketPath)) continue;
    try {
      return await describeEngine(connection);
    } catch (error) {
      failures.push(`${connection.address}: ${errorMessage(error)}`);
    }
  }
  const tried = failures.length > 0 ? failures.join('; ') : `no Docker socket found (looked for ${candidates.map((c) => c.address).join(', ')})`;
  throw new RuntimeError(`Docker is not reachable: ${tried}`);
}

/**
 * A client for the connection; the timeout is for quick questions, pulls go without one.
 * dockerode (and its ssh2/protobuf dependencies) loads on first use: a `layover serve`
 * that never talks to Docker does not carry ~28 MiB of it.
 */
export async function dockerClient(connection: DockerConnection, timeoutMs?: number): Promise<Docker> {
  const { default: Docker } = await import('dockerode');
  return new Docker({ ...connection.options, ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }) });
}

async function describeEngine(connection: DockerConnection): Promise<DockerEngine> {
  const docker = await dockerClient(connection, 5000);
  return { connection, docker, ...engineFacts(await docker.info() as DockerInfo) };
}

/** The registry mirrors the engine reports now (the answer to "did the reload take?"). */
export async function currentMirrors(docker: Docker): Promise<string[]> {
  let info: DockerInfo;
  try {
    info = await docker.info() as DockerInfo;
  } catch (error) {
    throw new RuntimeError(`Docker stopped answering: ${errorMessage(error)}`);
  }
  return info.RegistryConfig?.Mirrors ?? [];
}

/** The fields of GET /info that Layover reads (dockerode types the answer as any). */
export interface DockerInfo {
  ServerVersion?: string;
  OperatingSystem?: string;
  Name?: string;
  SecurityOptions?: string[];
  DriverStatus?: [string, string][];
  RegistryConfig?: { Mirrors?: string[] };
}
