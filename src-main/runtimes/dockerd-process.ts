import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode, RuntimeError } from './errors.js';
import type { DockerEnvironment } from './docker-engine.js';

/**
 * The dockerd process: where its pid is, which daemon.json it reads, and how
 * to make it reload registry-mirrors without restarting containers (SIGHUP).
 */

export interface DockerdProcess {
  pid: number;
  /** Where the pid came from, for messages: a pid file, or the process list. */
  source: string;
}

/**
 * dockerd's pid: from the given pid file; else the dockerd serving the
 * engine's socket (the process list says which, so DOCKER_HOST is honoured);
 * else the system or rootless default pid file. Undefined when none is found.
 */
export async function findDockerd(
  environment: DockerEnvironment,
  pidFile?: string,
  engineAddress?: string,
): Promise<DockerdProcess | undefined> {
  if (pidFile !== undefined) return readDockerdPid(pidFile, true);
  const serving = engineAddress === undefined ? undefined : await dockerdServing(engineAddress);
  if (serving) return serving;
  for (const candidate of defaultPidFiles(environment)) {
    const found = await readDockerdPid(candidate, false);
    if (found) return found;
  }
  return undefined;
}

/** The one dockerd whose -H/--host is the address (no -H, or systemd's fd://, means the default socket). */
async function dockerdServing(address: string): Promise<DockerdProcess | undefined> {
  const matches: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = await processArguments(Number(entry));
    if (argv === undefined || !/(^|\/)dockerd$/.test(argv[0] ?? '')) continue;
    const hosts = optionValues(argv, ['-H', '--host']).map((host) => (host.startsWith('fd://') ? DEFAULT_HOST : host));
    if ((hosts.length === 0 ? [DEFAULT_HOST] : hosts).includes(address)) matches.push(Number(entry));
  }
  return matches.length === 1 ? { pid: matches[0]!, source: 'the process list' } : undefined;
}

const DEFAULT_HOST = 'unix:///var/run/docker.sock';

async function processArguments(pid: number): Promise<string[] | undefined> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter((argument) => argument !== '');
  } catch {
    return undefined;
  }
}

/** Every value of the given options, written as `--opt value` or `--opt=value`. */
function optionValues(argv: string[], names: string[]): string[] {
  const values: string[] = [];
  argv.forEach((argument, index) => {
    for (const name of names) {
      if (argument === name && argv[index + 1] !== undefined) values.push(argv[index + 1]!);
      else if (argument.startsWith(`${name}=`)) values.push(argument.slice(name.length + 1));
    }
  });
  return values;
}

function defaultPidFiles({ env, uid }: DockerEnvironment): string[] {
  const runtimeDir = env.XDG_RUNTIME_DIR ?? (uid === undefined ? undefined : `/run/user/${uid}`);
  return ['/var/run/docker.pid', ...(runtimeDir === undefined ? [] : [join(runtimeDir, 'docker.pid')])];
}

async function readDockerdPid(pidFile: string, required: boolean): Promise<DockerdProcess | undefined> {
  const refuse = (why: string): undefined => {
    if (required) throw new RuntimeError(why);
    return undefined; // A default place that does not hold a live dockerd is just not where it is.
  };
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch (error) {
    return refuse(`cannot read the pid file ${pidFile}: ${errorCode(error) ?? String(error)}`);
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return refuse(`the pid file ${pidFile} does not hold a process id`);
  const problem = await notDockerd(pid, pidFile);
  return problem === undefined ? { pid, source: pidFile } : refuse(problem);
}

/**
 * A stale pid file can name a process that has since been reused, and SIGHUP
 * ends most programs: so check the process is dockerd before signalling it.
 */
async function notDockerd(pid: number, pidFile: string): Promise<string | undefined> {
  let command: string;
  try {
    command = (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
  } catch (error) {
    if (errorCode(error) === 'ENOENT' && process.platform === 'linux') {
      return `dockerd is not running: no process ${pid} (from ${pidFile})`;
    }
    return undefined; // No /proc here (macOS): nothing more to check.
  }
  return command === 'dockerd' ? undefined : `process ${pid} (from ${pidFile}) is "${command}", not dockerd: the pid file is stale`;
}

/** The --config-file dockerd was started with, read from its command line, when it has one and it can be read. */
export async function dockerdConfigFile(pid: number): Promise<string | undefined> {
  const argv = await processArguments(pid);
  return argv === undefined ? undefined : optionValues(argv, ['--config-file']).at(-1);
}

/** The mirrors given to dockerd with --registry-mirror flags: dockerd refuses a reload whose file also names registry-mirrors. */
export async function dockerdMirrorFlags(pid: number): Promise<string[]> {
  const argv = await processArguments(pid);
  return argv === undefined ? [] : optionValues(argv, ['--registry-mirror']);
}

/** Whether this process may signal pid (kill 0 checks permission without sending anything). */
export function maySignal(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function reloadCommand(dockerd: DockerdProcess | undefined, environment: DockerEnvironment): string {
  if (dockerd !== undefined) return `sudo kill -s HUP ${dockerd.pid}`;
  if (environment.platform === 'win32') return 'Restart-Service docker';
  // docker.service reloads by sending SIGHUP to dockerd (ExecReload).
  return 'sudo systemctl reload docker';
}

export type ReloadOutcome =
  | { kind: 'signalled'; how: string }
  | { kind: 'manual'; command: string; reason: string };

/**
 * Sends SIGHUP when allowed; otherwise asks for it through pkexec (Linux's
 * own prompt) for that one step; otherwise returns the exact command to run.
 */
export async function reloadDockerd(dockerd: DockerdProcess, environment: DockerEnvironment): Promise<ReloadOutcome> {
  if (maySignal(dockerd.pid)) {
    process.kill(dockerd.pid, 'SIGHUP');
    return { kind: 'signalled', how: `SIGHUP to dockerd (pid ${dockerd.pid})` };
  }
  const command = reloadCommand(dockerd, environment);
  if (environment.platform !== 'linux') {
    return { kind: 'manual', command, reason: `Layover may not signal dockerd (pid ${dockerd.pid})` };
  }
  const exitCode = await runWithTerminal('pkexec', ['kill', '-s', 'HUP', String(dockerd.pid)]);
  if (exitCode === 0) return { kind: 'signalled', how: `SIGHUP to dockerd (pid ${dockerd.pid}) through pkexec` };
  return { kind: 'manual', command, reason: `pkexec did not signal dockerd (pid ${dockerd.pid})` };
}

/** Runs a program, letting it prompt on the terminal; resolves to its exit code, or -1 when it could not start. */
function runWithTerminal(command: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit' });
    child.on('error', () => resolve(-1));
    child.on('exit', (code) => resolve(code ?? -1));
  });
}
