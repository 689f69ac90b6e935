import { join, win32 } from 'node:path';
import type { DockerEnvironment } from './docker-engine.js';
import { dockerdConfigFile, type DockerdProcess } from './dockerd-process.js';

/**
 * Where the engine's daemon.json lives. A dockerd started with --config-file
 * says so on its command line, which wins; otherwise each kind of install has
 * its own place.
 */
export async function locateDaemonJson(
  environment: DockerEnvironment,
  engine: { isDesktop: boolean; isRootless: boolean } | undefined,
  dockerd: DockerdProcess | undefined,
): Promise<string> {
  const fromCommandLine = dockerd === undefined ? undefined : await dockerdConfigFile(dockerd.pid);
  return fromCommandLine ?? defaultDaemonJsonPath(environment, engine ?? { isDesktop: false, isRootless: false });
}

export function defaultDaemonJsonPath(
  { env, platform, home }: DockerEnvironment,
  { isDesktop, isRootless }: { isDesktop: boolean; isRootless: boolean },
): string {
  if (isDesktop) return platform === 'win32' ? win32.join(home, '.docker', 'daemon.json') : join(home, '.docker', 'daemon.json');
  if (platform === 'win32') return win32.join(env.ProgramData ?? 'C:\\ProgramData', 'docker', 'config', 'daemon.json');
  if (isRootless) return join(env.XDG_CONFIG_HOME ?? join(home, '.config'), 'docker', 'daemon.json');
  return '/etc/docker/daemon.json';
}
