import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { DockerConfigPreview, DockerPullCheck, DockerStatus } from '../api/types.js';
import { addLayoverMirror, readDaemonJson, removeLayoverMirror } from './daemon-json.js';
import { planFileChange, removeFileIfPresent, writeFileChange, type FileChange } from './daemon-json-file.js';
import { locateDaemonJson } from './daemon-json-location.js';
import {
  currentEnvironment, currentMirrors, dockerConnectionCandidates, findDockerEngine,
  type DockerConnection, type DockerEngine, type DockerEnvironment,
} from './docker-engine.js';
import { dockerdMirrorFlags, findDockerd, maySignal, reloadCommand, reloadDockerd, type DockerdProcess } from './dockerd-process.js';
import { errorMessage, RuntimeError } from './errors.js';
import { isSameMirror, mirrorForEngine, mirrorUrl, parseMirrorAddress, type MirrorAddress } from './mirror-address.js';
import { checkDockerPulls, mirrorWitness, type ProbeWitness } from './pull-check.js';

/**
 * Pointing Docker Engine's registry-mirrors at Layover, and undoing it:
 * detect the engine, edit its daemon.json, make dockerd reload, check
 * through the Docker API that the change took, and that Docker's pulls
 * really arrive at Layover (pull-check.ts).
 */

export interface DockerConfigOptions {
  /** Layover's mirror (required to configure; for revert, one more mirror to recognise as Layover's). */
  mirror?: string;
  revert?: boolean;
  /** daemon.json to edit instead of the engine's own. */
  daemonJsonPath?: string;
  /** dockerd's pid file instead of the default places. */
  pidFile?: string;
  /** false: only edit the file (--no-reload). */
  reload?: boolean;
  /** Where to look for the engine (default: DOCKER_HOST, then the usual sockets). */
  candidates?: DockerConnection[];
  environment?: DockerEnvironment;
  /** How long dockerd gets to show the reloaded mirrors. */
  verifyTimeoutMs?: number;
  /** false: do not check that Docker's pulls arrive (--no-verify: Layover is not running yet). */
  verifyPulls?: boolean;
  /** Who says whether a probe arrived (default: the mirror itself, over HTTP). */
  witness?: ProbeWitness;
}

export interface DockerConfigResult {
  preview: DockerConfigPreview;
  backupPath?: string;
  /** What was done, one line each, as the CLI prints it. */
  steps: string[];
  status: DockerStatus;
  /** Whether Docker's pulls reach Layover after configure (absent after revert, --no-reload, --no-verify). */
  pullCheck?: DockerPullCheck;
}

interface Plan {
  options: DockerConfigOptions;
  environment: DockerEnvironment;
  engine?: DockerEngine;
  engineError?: string;
  dockerd?: DockerdProcess;
  /** Configure: the one to add, in the form this engine reaches (first), and forms of it to drop. Revert: all to remove. */
  mirrors: MirrorAddress[];
  change: FileChange;
  apply: string;
}

/** What configure (or revert) would change and how it would take effect, without changing anything. */
export async function previewDockerConfig(options: DockerConfigOptions): Promise<DockerConfigPreview> {
  return previewOf(await planDockerConfig(options));
}

function previewOf(plan: Plan): DockerConfigPreview {
  const { change, apply } = plan;
  return { path: change.path, before: change.before, after: change.after, changed: change.changed, apply };
}

async function planDockerConfig(options: DockerConfigOptions): Promise<Plan> {
  const environment = options.environment ?? currentEnvironment();
  const { engine, engineError } = await tryFindEngine(options.candidates ?? dockerConnectionCandidates(environment));
  if (engine && !engine.connection.local && options.daemonJsonPath === undefined) {
    throw new RuntimeError(`Docker at ${engine.connection.address} runs on another machine: run this command there`);
  }
  const dockerd = engine?.isDesktop && options.pidFile === undefined
    ? undefined
    : await findDockerd(environment, options.pidFile, engine?.connection.address);
  const path = options.daemonJsonPath ?? await locateDaemonJson(environment, engine, dockerd);
  const mirrors = await layoverMirrors(options, path, engine);
  const stillActive = engine !== undefined && mirrorsMatch(engine.mirrors, mirrors, true);
  const change = await planFileChange(path, (text) =>
    options.revert ? removeLayoverMirror(text, path, mirrors, { stillActive }) : addLayoverMirror(text, path, mirrors[0]!, mirrors.slice(1)));
  const plan = { options, environment, engine, engineError, dockerd, mirrors, change, apply: '' };
  return { ...plan, apply: describeApply(plan) };
}

async function tryFindEngine(candidates: DockerConnection[]): Promise<{ engine?: DockerEngine; engineError?: string }> {
  try {
    return { engine: await findDockerEngine(candidates) };
  } catch (error) {
    return { engineError: errorMessage(error) };
  }
}

/**
 * Configure adds the given mirror, in the form the engine reaches it
 * (host.docker.internal on Docker Desktop, dropping the loopback form).
 * Revert removes every mirror known to be Layover's: the given one in both
 * forms and the one recorded beside daemon.json when it was configured, so
 * revert works after Layover stopped or moved ports.
 */
async function layoverMirrors(options: DockerConfigOptions, path: string, engine: DockerEngine | undefined): Promise<MirrorAddress[]> {
  const raw = options.mirror === undefined ? undefined : parseMirrorAddress(options.mirror);
  const given = raw === undefined ? [] : distinct([mirrorForEngine(raw, engine), raw]);
  if (!options.revert) {
    if (given.length === 0) throw new RuntimeError('no mirror given: pass --mirror URL, e.g. http://127.0.0.1:5050');
    return given;
  }
  const recorded = await readRecordedMirror(path);
  const mirrors = [...given, ...(recorded === undefined ? [] : [recorded])];
  if (mirrors.length === 0) {
    throw new RuntimeError(`cannot tell which mirror in ${path} is Layover's: Layover is not running and left no record beside it`);
  }
  return mirrors;
}

function distinct(mirrors: MirrorAddress[]): MirrorAddress[] {
  return mirrors.filter((mirror, index) => mirrors.findIndex((other) => other.host === mirror.host) === index);
}

/** Beside daemon.json, which mirror Layover added, so that revert knows it later. */
function recordPathFor(daemonJsonPath: string): string {
  return `${daemonJsonPath}.layover.json`;
}

export async function readRecordedMirror(daemonJsonPath: string): Promise<MirrorAddress | undefined> {
  try {
    const record = JSON.parse(await readFile(recordPathFor(daemonJsonPath), 'utf8')) as { mirror?: unknown };
    return typeof record.mirror === 'string' ? parseMirrorAddress(record.mirror) : undefined;
  } catch {
    return undefined;
  }
}

function describeApply(plan: Omit<Plan, 'apply'>): string {
  const { options, engine, dockerd, environment } = plan;
  if (isAlreadyActive(plan)) return 'nothing to apply: Docker already runs with this configuration';
  if (options.reload === false) return `not reloaded: run ${reloadCommand(dockerd, environment)} to apply`;
  if (engine?.isDesktop) return 'restart Docker Desktop (it reads daemon.json only when it starts)';
  if (dockerd === undefined) return reloadCommand(undefined, environment);
  if (maySignal(dockerd.pid)) return `SIGHUP to dockerd (pid ${dockerd.pid})`;
  if (environment.platform === 'linux') return `SIGHUP to dockerd (pid ${dockerd.pid}) through pkexec`;
  return reloadCommand(dockerd, environment);
}

function isAlreadyActive({ change, engine, mirrors, options }: Omit<Plan, 'apply'>): boolean {
  if (change.changed || engine === undefined) return false;
  return mirrorsMatch(engine.mirrors, mirrors, !options.revert);
}

/** Configure: Layover's mirror is listed. Revert: none of Layover's mirrors is. */
function mirrorsMatch(active: string[], layover: MirrorAddress[], wanted: boolean): boolean {
  const listed = active.some((entry) => layover.some((mirror) => isSameMirror(entry, mirror)));
  return listed === wanted;
}

/** Configure or revert, apply, verify. Throws when the change could not be made or did not take. */
export async function applyDockerConfig(options: DockerConfigOptions): Promise<DockerConfigResult> {
  const plan = await planDockerConfig(options);
  if (options.reload !== false && plan.engine === undefined) {
    throw new RuntimeError(`${plan.engineError ?? 'Docker is not reachable'} (pass --no-reload to only edit ${plan.change.path})`);
  }
  const steps: string[] = desktopAddressNote(plan);
  const { backupPath } = await writeDaemonJson(plan, steps);
  await applyToEngine(plan, steps);
  const pullCheck = await pullCheckAfter(plan);
  return { preview: previewOf(plan), backupPath, steps, status: await statusAfter(plan, pullCheck), ...(pullCheck ? { pullCheck } : {}) };
}

/** Says why the address written is not the one given, when Docker Desktop's VM made it so. */
function desktopAddressNote({ mirrors, options }: Plan): string[] {
  if (options.revert || mirrors.length < 2) return [];
  return [`Docker Desktop runs its engine in a VM, where ${mirrors[1]!.hostname} is the VM itself: `
    + `Layover's mirror is written as ${mirrorUrl(mirrors[0]!)}, the address the VM reaches this computer by`];
}

/**
 * On every engine, after configure: do Docker's pulls arrive? Docker Desktop
 * applies the file only when it restarts, so until then the answer is pending.
 */
async function pullCheckAfter(plan: Plan): Promise<DockerPullCheck | undefined> {
  const { engine, mirrors, options } = plan;
  if (options.revert || options.reload === false || options.verifyPulls === false || engine === undefined) return undefined;
  const active = await currentMirrors(engine.docker);
  if (engine.isDesktop && !mirrorsMatch(active, mirrors.slice(0, 1), true)) {
    return {
      outcome: 'pending',
      message: 'Restart Docker Desktop to apply the change; then check that its pulls reach Layover (layover docker status)',
      checkedAt: Date.now(),
    };
  }
  const witness = options.witness ?? mirrorWitness(mirrors[0]!);
  return checkDockerPulls({ connection: engine.connection, engine: { isDesktop: engine.isDesktop, mirrors: active }, mirror: mirrors[0]!, witness });
}

async function writeDaemonJson(plan: Plan, steps: string[]): Promise<{ backupPath?: string }> {
  const { change, mirrors, options } = plan;
  const written = await writeFileChange(change, (text) => {
    if (!mirrorsMatch(readDaemonJson(text, change.path).mirrors, mirrors, !options.revert)) {
      throw new RuntimeError('registry-mirrors does not hold what Layover wrote');
    }
  });
  const backup = written.backupPath ? ` (previous version: ${written.backupPath})` : '';
  const unchanged = options.revert ? 'has no Layover mirror' : "lists Layover's mirror first";
  steps.push(change.changed ? `Updated ${change.path}${backup}` : `${change.path} already ${unchanged}`);
  await updateRecord(plan);
  return written;
}

async function updateRecord({ change, mirrors, options }: Plan): Promise<void> {
  const recordPath = recordPathFor(change.path);
  if (options.revert) return removeFileIfPresent(recordPath);
  try {
    await writeFileAtomic(recordPath, `${JSON.stringify({ mirror: mirrorUrl(mirrors[0]!) }, null, 2)}\n`);
  } catch (error) {
    throw new RuntimeError(`cannot write ${recordPath}: ${errorMessage(error)}`);
  }
}

async function applyToEngine(plan: Plan, steps: string[]): Promise<void> {
  const { options, engine, dockerd, environment, change } = plan;
  if (isAlreadyActive(plan)) return void steps.push(plan.apply);
  if (options.reload === false) return void steps.push(`Not reloaded (--no-reload): ${plan.apply}`);
  if (engine?.isDesktop) {
    return void steps.push('Docker Desktop does not reload daemon.json on its own: restart Docker Desktop to apply the change');
  }
  if (dockerd === undefined) {
    const command = reloadCommand(undefined, environment);
    throw new RuntimeError(`${change.path} is updated, but Layover found no dockerd process to signal: run ${command} to apply it`);
  }
  const outcome = await reloadDockerd(dockerd, environment);
  if (outcome.kind === 'manual') {
    throw new RuntimeError(`${change.path} is updated, but ${outcome.reason}: run ${outcome.command} to apply it`);
  }
  steps.push(`Sent ${outcome.how}`);
  steps.push(await verifyMirrors(plan));
  if (engine?.usesContainerdImageStore && !options.revert) steps.push(containerdStoreOffer(plan.mirrors[0]!));
}

/** registry-mirrors covers Docker Hub only; an engine on the containerd image store can mirror every registry. */
function containerdStoreOffer(mirror: MirrorAddress): string {
  return 'This engine uses the containerd image store, which can mirror every registry: '
    + `layover runtimes containerd --mirror ${mirror.host} --registry NAME --out /etc/docker/certs.d`;
}

/** Polls the Docker API until the reload shows; a reload that does not show is a failure, with its cause. */
async function verifyMirrors(plan: Plan): Promise<string> {
  const { engine, mirrors, options } = plan;
  const wanted = !options.revert;
  const deadline = Date.now() + (options.verifyTimeoutMs ?? 10_000);
  let active: string[] = [];
  while (Date.now() < deadline) {
    active = await currentMirrors(engine!.docker);
    if (mirrorsMatch(active, mirrors, wanted)) {
      return wanted
        ? `Verified: Docker now lists ${mirrorUrl(mirrors[0]!)} as a registry mirror`
        : 'Verified: Docker no longer lists Layover\'s mirror';
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new RuntimeError(`dockerd did not take the change (Docker lists mirrors [${active.join(', ')}]): ${await whyNotTaken(plan)}`);
}

/**
 * What kept dockerd from applying the file, as far as Layover can see it
 * from outside: dockerd reads another file, a --registry-mirror flag clashes
 * with the key (dockerd then refuses the whole reload), or the file has no
 * registry-mirrors key to reload. Anything else is in dockerd's own log.
 */
async function whyNotTaken({ change, dockerd, engine, environment }: Plan): Promise<string> {
  const readsFrom = await locateDaemonJson(environment, engine, dockerd);
  if (resolve(readsFrom) !== resolve(change.path)) {
    return `dockerd reads ${readsFrom}, not ${change.path} (pass --daemon-json ${readsFrom}, or leave it out)`;
  }
  const flags = dockerd === undefined ? [] : await dockerdMirrorFlags(dockerd.pid);
  if (flags.length > 0) {
    return `dockerd was started with --registry-mirror ${flags.join(', ')}, which conflicts with "registry-mirrors" in ${change.path}, `
      + 'so it refused the reload: keep the mirrors in one of the two places';
  }
  if (!readDaemonJson(change.after, change.path).hasMirrorsKey) {
    return `${change.path} has no "registry-mirrors" key, and dockerd keeps its mirrors on reload until the key is there: restart dockerd`;
  }
  return `dockerd did not apply ${change.path}; its log says why (journalctl -u docker on systemd)`;
}

async function statusAfter(plan: Plan, pullCheck: DockerPullCheck | undefined): Promise<DockerStatus> {
  const { engine, mirrors, change, options } = plan;
  if (engine === undefined) {
    return { available: false, mirrors: [], usesLayover: false, daemonJsonPath: change.path, error: plan.engineError };
  }
  const active = await currentMirrors(engine.docker);
  return {
    available: true,
    version: engine.version,
    isDesktop: engine.isDesktop,
    mirrors: active,
    usesLayover: mirrorsMatch(active, mirrors, true),
    ...(options.revert ? {} : { layoverMirror: mirrorUrl(mirrors[0]!) }),
    ...(pullCheck ? { pullCheck } : {}),
    daemonJsonPath: change.path,
  };
}
