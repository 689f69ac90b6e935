/**
 * Long-running child processes (registries, dockerd, Layover itself) and the
 * short commands around them (skopeo, htpasswd, docker).
 *
 * Every child gets its own process group, so stopping it also reaches what it
 * started (dockerd starts containerd). Every child and temp dir is tracked: a
 * test that forgets to stop something, or a runner interrupted with Ctrl-C,
 * still leaves nothing behind — the exit hook kills the groups and removes the
 * dirs synchronously.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isPortOpen, LOOPBACK } from './ports.js';

export type ReadyCheck =
  /** Something accepts TCP connections on host:port. */
  | { kind: 'tcp'; port: number; host?: string }
  /** The URL answers HTTP (any status unless `accept` says otherwise); `socketPath` for HTTP over a unix socket. */
  | { kind: 'http'; url: string; socketPath?: string; accept?: (status: number) => boolean }
  /** A line of the child's output matches. */
  | { kind: 'log'; pattern: RegExp | string }
  | { kind: 'custom'; description: string; probe: () => Promise<boolean> };

export interface StartProcessOptions {
  /** Short name used in errors and log prefixes. */
  name: string;
  command: string;
  args: string[];
  /** stdout and stderr both go here, whole lines, appended (a restarted process keeps its history). */
  logFile: string;
  ready?: ReadyCheck;
  /** How long to wait for `ready` (default 30 s). */
  readyTimeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called for every complete output line, e.g. to parse an access log as it is written. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface StopOptions {
  /** First signal (default SIGTERM), sent to the child only so it can shut down its own children in order. */
  signal?: NodeJS.Signals;
  /** How long the first signal gets before SIGKILL goes to the whole process group (default 10 s). */
  graceMs?: number;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** Settles when the child exits, however it exits. */
  readonly exited: Promise<ExitStatus>;
  isRunning(): boolean;
  /** The last output lines, for error messages. */
  tail(lines?: number): string;
  /** Subscribes to output lines from now on; returns the unsubscribe function. */
  onLine(listener: (line: string, stream: 'stdout' | 'stderr') => void): () => void;
  /**
   * Resolves with the first matching line: among the recent ones too, unless `fromNow`
   * (subscribe before causing the line, e.g. before sending a signal). Default timeout 30 s.
   */
  waitForLine(pattern: RegExp | string, options?: { timeoutMs?: number; fromNow?: boolean }): Promise<string>;
  signal(signal: NodeJS.Signals): void;
  stop(options?: StopOptions): Promise<ExitStatus>;
}

const TAIL_LINES_KEPT = 200;
const live = new Set<ManagedProcess>();
const tempDirs = new Set<string>();
const exitCleanups = new Set<() => void>();

/** Spawns a long-running child, logs its output to `logFile`, and resolves once `ready` passes. */
export async function startProcess(options: StartProcessOptions): Promise<ManagedProcess> {
  installExitHooks();
  mkdirSync(dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  log.write(`--- ${new Date().toISOString()} start: ${commandLine(options.command, options.args)}\n`);
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: stop() can kill the whole tree, and a Ctrl-C in the terminal does not race our cleanup.
    detached: true,
  });
  const managed = manage(child, options, log);
  try {
    await managed.spawned;
    if (options.ready) await waitUntilReady(managed.process, options.ready, options.readyTimeoutMs ?? 30_000);
  } catch (error) {
    await managed.process.stop({ graceMs: 2_000 });
    throw error;
  }
  return managed.process;
}

function manage(child: ChildProcess, options: StartProcessOptions, log: WriteStream) {
  const recent: string[] = [];
  const listeners = new Set<(line: string, stream: 'stdout' | 'stderr') => void>();
  if (options.onLine) listeners.add(options.onLine);
  const record = (line: string, stream: 'stdout' | 'stderr') => {
    if (!log.writableEnded) log.write(`${line}\n`);
    recent.push(line);
    if (recent.length > TAIL_LINES_KEPT) recent.shift();
    for (const listener of listeners) listener(line, stream);
  };
  const stdoutDone = forwardLines(child.stdout, (line) => record(line, 'stdout'));
  const stderrDone = forwardLines(child.stderr, (line) => record(line, 'stderr'));

  let running = true;
  let markExited: (status: ExitStatus) => void = () => {};
  const exited = new Promise<ExitStatus>((resolve) => {
    markExited = (status) => {
      running = false;
      live.delete(managed);
      resolve(status);
    };
  });
  child.once('exit', (code, signal) => {
    killGroup(child.pid, 'SIGKILL'); // whatever the child left behind in its group
    markExited({ code, signal });
  });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (error) => {
      // A child that never started emits no 'exit'.
      if (child.pid === undefined) markExited({ code: null, signal: null });
      reject(new Error(`${options.name}: could not start ${options.command}: ${error.message}`));
    });
  });
  // Pipes can stay open after exit while a grandchild holds them; the log is closed once both ends finish or 2 s pass.
  void exited.then(async () => {
    await withTimeout(Promise.all([stdoutDone, stderrDone]), 2_000);
    log.end();
  });

  const managed: ManagedProcess = {
    name: options.name,
    pid: child.pid ?? -1,
    logFile: options.logFile,
    child,
    exited,
    isRunning: () => running,
    tail: (lines = 40) => recent.slice(-lines).join('\n'),
    onLine: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    waitForLine: (pattern, { timeoutMs = 30_000, fromNow = false } = {}) => waitForLine(managed, fromNow ? [] : recent, pattern, timeoutMs),
    signal: (signal) => {
      if (running && child.pid !== undefined) process.kill(child.pid, signal);
    },
    stop: (stopOptions) => stopChild(managed, stopOptions),
  };
  if (child.pid !== undefined) live.add(managed);
  return { process: managed, spawned };
}

function forwardLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): Promise<void> {
  if (!stream) return Promise.resolve();
  return new Promise((resolve) => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line.replace(/\r$/, ''));
    });
    stream.once('close', () => {
      if (partial) onLine(partial);
      resolve();
    });
  });
}

async function stopChild(managed: ManagedProcess, options: StopOptions = {}): Promise<ExitStatus> {
  if (managed.isRunning()) {
    managed.signal(options.signal ?? 'SIGTERM');
    const outcome = await withTimeout(managed.exited, options.graceMs ?? 10_000);
    if (outcome === 'timeout') killGroup(managed.pid, 'SIGKILL');
  }
  return managed.exited;
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined || pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

async function waitUntilReady(child: ManagedProcess, check: ReadyCheck, timeoutMs: number): Promise<void> {
  if (check.kind === 'log') {
    await child.waitForLine(check.pattern, { timeoutMs });
    return;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!child.isRunning()) {
      const status = await child.exited;
      throw new Error(`${child.name} exited (code ${status.code}, signal ${status.signal}) before ${describeCheck(check)}.\n${logHint(child)}`);
    }
    if (await probe(check)) return;
    if (Date.now() > deadline) {
      throw new Error(`${child.name} was not ready within ${timeoutMs} ms: waited for ${describeCheck(check)}.\n${logHint(child)}`);
    }
    await sleep(50);
  }
}

async function waitForLine(child: ManagedProcess, recent: string[], pattern: RegExp | string, timeoutMs: number): Promise<string> {
  const earlier = recent.find((line) => matches(line, pattern));
  if (earlier !== undefined) return earlier;
  let unsubscribe = () => {};
  const found = new Promise<string>((resolve) => {
    unsubscribe = child.onLine((line) => {
      if (matches(line, pattern)) resolve(line);
    });
  });
  try {
    const outcome = await withTimeout(Promise.race([found, child.exited.then(() => 'exited' as const)]), timeoutMs);
    if (outcome === 'exited') throw new Error(`${child.name} exited before printing a line matching ${String(pattern)}.\n${logHint(child)}`);
    if (outcome === 'timeout') throw new Error(`${child.name} printed no line matching ${String(pattern)} within ${timeoutMs} ms.\n${logHint(child)}`);
    return outcome;
  } finally {
    unsubscribe();
  }
}

function matches(text: string, pattern: RegExp | string): boolean {
  return typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
}

async function probe(check: ReadyCheck): Promise<boolean> {
  switch (check.kind) {
    case 'tcp':
      return isPortOpen(check.port, check.host ?? LOOPBACK);
    case 'http':
      return httpAnswers(check.url, check.socketPath, check.accept ?? (() => true));
    case 'custom':
      return check.probe().catch(() => false);
    case 'log':
      return false;
  }
}

function httpAnswers(url: string, socketPath: string | undefined, accept: (status: number) => boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const request = httpRequest(url, { method: 'GET', socketPath, timeout: 2_000 }, (response) => {
      response.resume();
      resolve(accept(response.statusCode ?? 0));
    });
    request.once('timeout', () => request.destroy());
    request.once('error', () => resolve(false));
    request.end();
  });
}

function describeCheck(check: ReadyCheck): string {
  switch (check.kind) {
    case 'tcp':
      return `TCP ${check.host ?? LOOPBACK}:${check.port} to accept connections`;
    case 'http':
      return `HTTP ${check.url}${check.socketPath ? ` over ${check.socketPath}` : ''} to answer`;
    case 'log':
      return `a log line matching ${String(check.pattern)}`;
    case 'custom':
      return check.description;
  }
}

function logHint(child: ManagedProcess): string {
  return `Last output lines (full log: ${child.logFile}):\n${indent(child.tail(30) || '(no output)')}`;
}

/** Children started by startProcess that have not exited yet. */
export function runningProcesses(): ManagedProcess[] {
  return [...live];
}

/** Stops every child still running: for test teardown hooks. */
export async function stopAllProcesses(options?: StopOptions): Promise<void> {
  await Promise.all([...live].map((child) => child.stop(options)));
}

// ---------------------------------------------------------------- short commands

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  /** Kill the command (SIGKILL) after this long (default 5 minutes). */
  timeoutMs?: number;
}

export interface RunResult {
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and returns its output, whatever its exit code. */
export function runCommand(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  installExitHooks();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${command}: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        command: commandLine(command, args),
        code,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
    child.stdin.on('error', () => {}); // a command that exits without reading its input must not crash us
    child.stdin.end(options.input);
  });
}

/** Like runCommand, but a non-zero exit throws an error carrying the command line and its stderr. */
export async function runChecked(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await runCommand(command, args, options);
  if (result.code !== 0) throw new CommandError(result);
  return result;
}

export class CommandError extends Error {
  constructor(readonly result: RunResult) {
    const status = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
    const output = (result.stderr.trim() || result.stdout.trim() || '(no output)').split('\n').slice(-30).join('\n');
    super(`${result.command}\n${status}:\n${indent(output)}`);
    this.name = 'CommandError';
  }
}

// ---------------------------------------------------------------- temp dirs and exit cleanup

/** A fresh dir under os.tmpdir(), removed by removeTempDir or, at the latest, when the process exits. */
export async function makeTempDir(prefix: string, parent = tmpdir()): Promise<string> {
  installExitHooks();
  const dir = await mkdtemp(join(parent, `layover-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  tempDirs.delete(dir);
}

/**
 * Registers synchronous cleanup for when the process exits with things still
 * up (e.g. unmounting what dockerd mounted); returns a function that unregisters it.
 */
export function onExitCleanup(cleanup: () => void): () => void {
  installExitHooks();
  exitCleanups.add(cleanup);
  return () => exitCleanups.delete(cleanup);
}

let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once('exit', cleanUpSynchronously);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanUpSynchronously();
      // Exit like the signal would have, unless someone else handles it and decides.
      if (process.listenerCount(signal) === 0) process.exit(128 + signalNumber(signal));
    });
  }
}

function cleanUpSynchronously(): void {
  for (const child of live) killGroup(child.pid, 'SIGKILL');
  if (live.size > 0) sleepSynchronously(200); // let the kernel reap them before their dirs go
  for (const cleanup of exitCleanups) {
    try {
      cleanup();
    } catch {
      // best effort: the process is exiting
    }
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

function sleepSynchronously(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function signalNumber(signal: 'SIGINT' | 'SIGTERM' | 'SIGHUP'): number {
  return { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[signal];
}

// ---------------------------------------------------------------- small helpers

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The promise's value, or 'timeout' after ms; the timer is cleared either way so it never holds the process open. */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function commandLine(command: string, args: string[]): string {
  return [command, ...args].map((part) => (/^[\w@%+=:,./-]+$/.test(part) ? part : JSON.stringify(part))).join(' ');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
