/**
 * A real Docker Engine (Debian's dockerd 20.10) inside one laptop's network
 * namespace, for the office mesh tests, so 127.0.0.1 in its daemon.json is
 * that laptop's own Layover. Isolated as
 * test/support/dockerd.ts does it (vfs, no iptables, no bridge, its own data
 * root, exec root, pid file, socket and containerd namespaces under one short
 * temp dir). The socket is a file, so the docker CLI and the test reach the
 * daemon from the host.
 *
 * Entered with `nsenter --net=/run/netns/NS`, not `ip netns exec NS`: the
 * latter also gives the command a mount namespace with a fresh sysfs on /sys
 * (the namespace's own view of its devices), and that sysfs has nothing under
 * /sys/fs/cgroup, so dockerd 20.10 refuses to start ("failed to start daemon:
 * Devices cgroup isn't mounted", measured here with cgroup v1). nsenter changes
 * the network namespace only: dockerd keeps the host's cgroup mounts, and its
 * mounts (the bind mount of its data root onto itself) are the host's, which
 * stop() unmounts and mountsUnder() lets the test check.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DOCKER_CLI, DOCKERD_BINARY, unmountEverythingUnder } from '../../support/dockerd.js';
import { makeTempDir, onExitCleanup, removeTempDir, runChecked, startProcess, type ManagedProcess, type RunResult } from '../../support/process.js';
import type { LanHost } from './office-lan.js';

const NSENTER = '/usr/bin/nsenter';

export interface NamespaceDockerd {
  readonly host: LanHost;
  readonly dir: string;
  readonly socketPath: string;
  readonly process: ManagedProcess;
  /** The docker CLI against this daemon (from the host, over the socket); a non-zero exit throws. */
  docker(args: string[], options?: { timeoutMs?: number }): Promise<RunResult>;
  /** Stops dockerd and its containerd, unmounts, removes the dir. Calling it again does nothing. */
  stop(): Promise<void>;
}

export async function startDockerdIn(host: LanHost, daemonConfig: Record<string, unknown>): Promise<NamespaceDockerd> {
  // Short: containerd's sockets go under the exec root, and unix socket paths are limited to 108 bytes.
  const dir = await makeTempDir(`dk-${host.name}`, '/tmp');
  const forget = onExitCleanup(() => unmountEverythingUnder(dir));
  const socketPath = join(dir, 'docker.sock');
  const configFile = join(dir, 'daemon.json');
  const clientConfig = join(dir, 'client');
  const namespace = `layover-mesh-${randomBytes(4).toString('hex')}`;
  try {
    await mkdir(clientConfig, { recursive: true });
    await writeFile(configFile, `${JSON.stringify(daemonConfig, null, 2)}\n`);
    const daemon = await startProcess({
      name: `dockerd-${host.name}`,
      command: NSENTER,
      args: [`--net=/run/netns/${host.ns}`, '--', DOCKERD_BINARY,
        '--host', `unix://${socketPath}`,
        '--data-root', join(dir, 'data'),
        '--exec-root', join(dir, 'x'),
        '--pidfile', join(dir, 'docker.pid'),
        '--config-file', configFile,
        '--containerd-namespace', namespace,
        '--containerd-plugins-namespace', `${namespace}-plugins`,
        '--storage-driver', 'vfs',
        '--iptables=false', '--ip6tables=false', '--bridge=none',
      ],
      logFile: join(dir, 'dockerd.log'),
      ready: { kind: 'http', url: 'http://localhost/_ping', socketPath, accept: (status) => status === 200 },
      readyTimeoutMs: 90_000,
    });
    const { DOCKER_HOST: _h, DOCKER_CONTEXT: _c, DOCKER_TLS_VERIFY: _t, DOCKER_CERT_PATH: _p, ...env } = process.env;
    let stopped = false;
    return {
      host, dir, socketPath, process: daemon,
      docker: (args, options = {}) => runChecked(DOCKER_CLI, ['--host', `unix://${socketPath}`, ...args], { ...options, env: { ...env, DOCKER_CONFIG: clientConfig, DOCKER_CLI_HINTS: 'false' } }),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await daemon.stop({ graceMs: 20_000 });
        unmountEverythingUnder(dir);
        forget();
        await removeTempDir(dir);
      },
    };
  } catch (error) {
    unmountEverythingUnder(dir);
    forget();
    await removeTempDir(dir);
    throw error;
  }
}

/** Mount points at or below dir as a process sees them (default: this one; a pid: in that process's mount namespace). */
export function mountsUnder(dir: string, pid: number | 'self' = 'self'): string[] {
  return readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').map((line) => line.split(' ')[4]).filter((point): point is string => point !== undefined && (point === dir || point.startsWith(`${dir}/`)));
}

export { DOCKER_CLI, DOCKERD_BINARY };
