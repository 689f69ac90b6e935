import { Argument, type Command } from 'commander';
import type { DockerPullCheck, DockerStatus, RuntimeSnippet } from '../api/types.js';
import {
  applyDockerConfig, inspectDocker, pullThroughLayover, RuntimeError, runningMirror,
  snippetsFor, writeSnippets, type PullProgress, type RuntimeName,
} from '../app/local-runtimes.js';
import { CliError } from './errors.js';
import { TerminalProgress } from './terminal-progress.js';

/**
 * The runtimes' command line (a contract, see issue 3):
 *   layover docker status
 *   layover docker configure --mirror URL [--daemon-json PATH] [--pid-file PATH] [--no-reload] [--no-verify]
 *   layover docker revert [--daemon-json PATH] [--pid-file PATH] [--no-reload]
 *   layover pull REF [--mirror HOST:PORT]
 *   layover runtimes podman|containerd --mirror HOST:PORT [--registry NAME]... [--out PATH]
 */
export function registerRuntimeCommands(program: Command): void {
  registerDockerCommands(program);
  program
    .command('pull')
    .description('pull an image from any registry through Layover, then give it its own name')
    .argument('<ref>', 'the image as you would name it, e.g. dtr.example.com/eng/app:7 or alpine')
    .option('--mirror <host:port>', "Layover's mirror (default: the running instance's)")
    .action(reportingFailures(pullCommand));
  program
    .command('runtimes')
    .description('write the registries.conf drop-in (Podman, CRI-O, skopeo) or hosts.toml files (containerd) that point at Layover')
    .addArgument(new Argument('<runtime>', 'which runtime').choices(['podman', 'containerd']))
    .requiredOption('--mirror <host:port>', "Layover's mirror address")
    .option('--registry <name>', 'a registry to send through Layover (repeatable; default docker.io)', collect, [])
    .option('--out <path>', 'write the file there (Podman: a file or directory; containerd: the hosts directory) instead of printing it')
    .action(reportingFailures(runtimesCommand));
}

function registerDockerCommands(program: Command): void {
  const docker = program.command('docker').description('point Docker Engine at Layover, check it, undo it');
  docker
    .command('status')
    .description("show Docker's version and registry mirrors, whether Layover's mirror is among them, and whether Docker's pulls really arrive")
    .action(reportingFailures(dockerStatusCommand));
  docker
    .command('configure')
    .description("put Layover's mirror first in daemon.json's registry-mirrors, reload dockerd, verify that Docker's pulls arrive")
    .requiredOption('--mirror <url>', "Layover's mirror, e.g. http://127.0.0.1:5050 (Docker Desktop gets http://host.docker.internal:5050)")
    .option('--daemon-json <path>', 'the daemon.json to edit (default: the one the engine reads)')
    .option('--pid-file <path>', "dockerd's pid file (default /var/run/docker.pid)")
    .option('--no-reload', 'only edit daemon.json; do not signal dockerd')
    .option('--no-verify', "do not check that Docker's pulls arrive at Layover (for configuring before Layover runs)")
    .action(reportingFailures(dockerConfigureCommand));
  docker
    .command('revert')
    .description("remove Layover's mirror from daemon.json, reload dockerd, verify")
    .option('--daemon-json <path>', 'the daemon.json to edit (default: the one the engine reads)')
    .option('--pid-file <path>', "dockerd's pid file (default /var/run/docker.pid)")
    .option('--no-reload', 'only edit daemon.json; do not signal dockerd')
    .action(reportingFailures(dockerRevertCommand));
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Runtime failures become the one-line CliError that main.ts prints as `layover: <message>`. */
function reportingFailures<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (error) {
      if (error instanceof RuntimeError) throw new CliError(error.message);
      throw error;
    }
  };
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/**
 * Layover's mirror is the running instance's, else the one configure
 * recorded beside daemon.json; when Docker lists it, a probe checks that its
 * pulls arrive, and a mirror they do not reach fails the command.
 */
async function dockerStatusCommand(): Promise<void> {
  const running = await runningMirror();
  const { status, address, usesContainerdImageStore, mirror } = await inspectDocker({ mirror: running });
  if (!status.available) throw new CliError(status.error ?? 'Docker is not reachable');
  say(`${status.isDesktop ? 'Docker Desktop' : 'Docker Engine'} ${status.version} at ${address}`);
  say(`Registry mirrors: ${status.mirrors.length === 0 ? 'none' : status.mirrors.join(', ')}`);
  say(`Layover's mirror: ${layoverMirrorLine(status, running, mirror !== undefined)}`);
  if (status.daemonJsonPath !== undefined) say(`daemon.json: ${status.daemonJsonPath}`);
  if (usesContainerdImageStore) {
    say('Image store: containerd, which can mirror every registry through /etc/docker/certs.d/<registry>/hosts.toml '
      + '(layover runtimes containerd --out /etc/docker/certs.d)');
  }
  reportPullCheck(status.pullCheck);
}

function layoverMirrorLine(status: DockerStatus, running: string | undefined, known: boolean): string {
  const notRunning = 'Layover is not running here (start it with `layover serve`)';
  if (!known) return notRunning;
  if (!status.usesLayover) return `not in use; run: layover docker configure --mirror ${status.layoverMirror ?? `http://${running}`}`;
  return running === undefined ? `${status.layoverMirror}, as layover docker configure wrote it; ${notRunning}` : `in use (${status.layoverMirror})`;
}

/** Pulls that reach Layover are said so; pulls that do not fail the command, with the likely cause. */
function reportPullCheck(check: DockerPullCheck | undefined): void {
  if (check === undefined) return;
  if (check.outcome === 'unreachable') throw new CliError(check.message);
  say(check.outcome === 'reaches' ? `Verified: ${check.message}` : check.message);
}

interface DockerConfigFlags {
  mirror?: string;
  daemonJson?: string;
  pidFile?: string;
  reload: boolean;
  verify?: boolean;
}

async function dockerConfigureCommand(flags: DockerConfigFlags): Promise<void> {
  const result = await applyDockerConfig({ ...configOptions(flags), mirror: flags.mirror, verifyPulls: flags.verify !== false });
  result.steps.forEach(say);
  reportPullCheck(result.pullCheck);
}

/** Revert recognises Layover's mirror by the running instance's address and by the record configure left. */
async function dockerRevertCommand(flags: DockerConfigFlags): Promise<void> {
  const result = await applyDockerConfig({ ...configOptions(flags), mirror: await runningMirror(), revert: true });
  result.steps.forEach(say);
}

function configOptions(flags: DockerConfigFlags) {
  return { daemonJsonPath: flags.daemonJson, pidFile: flags.pidFile, reload: flags.reload };
}

async function pullCommand(reference: string, flags: { mirror?: string }): Promise<void> {
  const mirror = flags.mirror ?? await runningMirror();
  if (mirror === undefined) throw new CliError('Layover is not running here: start it with `layover serve`, or pass --mirror HOST:PORT');
  const display = createPullDisplay(process.stdout);
  let result;
  try {
    result = await pullThroughLayover({ reference, mirror, onProgress: (progress) => display.update(progress) });
  } finally {
    display.stop();
  }
  say(`Pulled ${result.reference} through ${mirror}${result.digest ? ` (${result.digest})` : ''}`);
}

async function runtimesCommand(runtime: RuntimeName, flags: { mirror: string; registry: string[]; out?: string }): Promise<void> {
  const registries = flags.registry.length > 0 ? flags.registry : ['docker.io'];
  const snippets = await snippetsFor(runtime, { mirror: flags.mirror, registries }, flags.out);
  if (flags.out === undefined) {
    // The files on stdout (each headed by a TOML comment naming where it goes), the explanation on stderr.
    for (const snippet of snippets) process.stdout.write(`# ${snippet.path}\n${snippet.content}\n`);
    process.stderr.write(explanations(snippets));
    return;
  }
  for (const file of await writeSnippets(snippets)) {
    say(file.changed ? `Wrote ${file.path}${file.backupPath ? ` (previous version: ${file.backupPath})` : ''}` : `${file.path} is up to date`);
  }
  process.stdout.write(explanations(snippets));
}

/** Each distinct explanation once: the files of one runtime share theirs. */
function explanations(snippets: RuntimeSnippet[]): string {
  return [...new Set(snippets.map((snippet) => snippet.explanation))].map((line) => `${line}\n`).join('');
}

/**
 * How `layover pull` shows Docker's progress: a bar per layer on a terminal,
 * and elsewhere one plain line each time a layer changes state.
 */
export function createPullDisplay(stream: NodeJS.WritableStream): { update(progress: PullProgress): void; stop(): void } {
  const progress = new TerminalProgress(stream, { live: TerminalProgress.isTerminal(stream) });
  const layers = new Map<string, { done: number; total: number }>();
  return {
    update({ id, status, current, total }) {
      if (status === '') return;
      // Docker names layers by 12 hex digits; its other lines ("7: Pulling from ...", "Digest: ...") are messages.
      if (progress.live && id !== undefined && /^[a-f0-9]{12}$/.test(id)) {
        const layer = layers.get(id) ?? { done: 0, total: 0 };
        if (total !== undefined && total > 0) layer.total = total;
        layer.done = /complete|already exists/i.test(status) ? Math.max(layer.total, 1) : current ?? layer.done;
        layers.set(id, layer);
        progress.row(id, { label: id, done: layer.done, total: layer.total, detail: status });
      } else if (progress.live || progress.lineDue(id ?? '', status)) {
        progress.line(id === undefined ? status : `${id}: ${status}`);
      }
    },
    stop: () => progress.stop(),
  };
}
