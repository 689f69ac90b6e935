/**
 * What the runtimes' integration tests share: the real `layover` command line
 * (run from source, as `node --import tsx src-main/cli/main.ts ...`), the real
 * `layover serve` as a child process, images seeded into real registries, and
 * a real containerd of the test's own.
 */
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { writeSampleLayout } from '../../src-main/demo/sample-images.js';
import { freePort, LOOPBACK } from '../support/ports.js';
import { makeTempDir, removeTempDir, runCommand, startProcess, type ManagedProcess, type RunResult } from '../support/process.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { pushSampleLayout } from '../support/skopeo.js';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
const CLI_MAIN = join(REPO_ROOT, 'src-main', 'cli', 'main.ts');

/** A registry name that never resolves (RFC 2606 .invalid): reaching it proves the mirror was used. */
export const UNRESOLVABLE_REGISTRY = 'dtr.layover-test.invalid';

/**
 * Environment for a runtime (dockerd, podman) whose registry traffic must stay
 * on this machine: were the mirror ever skipped, it would fall back to the
 * registry itself (Docker Hub), so every proxied request goes to a closed
 * loopback port instead. Loopback, where Layover listens, is never proxied.
 */
export async function registryTrafficStaysHere(): Promise<NodeJS.ProcessEnv> {
  const nowhere = `http://${LOOPBACK}:${await freePort()}`;
  return { HTTP_PROXY: nowhere, HTTPS_PROXY: nowhere, NO_PROXY: LOOPBACK };
}

/** Runs `layover ARGS...` from source; never throws on a non-zero exit. */
export function layover(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return runCommand(process.execPath, ['--import', 'tsx', CLI_MAIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    timeoutMs: 180_000,
  });
}

export interface ServedLayover {
  /** 127.0.0.1:PORT, as in image references. */
  host: string;
  /** http://127.0.0.1:PORT */
  url: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** `layover serve --data DIR --listen ... --admin ... --upstream URL --registry NAME=URL...`, the contract, as a child process. */
export async function serveLayover(args: { upstream: string; registries?: string[] }): Promise<ServedLayover> {
  const dataDir = await makeTempDir('runtimes-layover');
  const [port, adminPort] = [await freePort(), await freePort()];
  const cli = ['serve', '--data', dataDir, '--listen', `${LOOPBACK}:${port}`, '--admin', `${LOOPBACK}:${adminPort}`, '--upstream', args.upstream];
  for (const registry of args.registries ?? []) cli.push('--registry', registry);
  let child: ManagedProcess;
  try {
    child = await startProcess({
      name: 'layover serve',
      command: process.execPath,
      args: ['--import', 'tsx', CLI_MAIN, ...cli],
      cwd: REPO_ROOT,
      logFile: join(dataDir, 'serve.log'),
      ready: { kind: 'http', url: `http://${LOOPBACK}:${port}/v2/` },
    });
  } catch (error) {
    await removeTempDir(dataDir);
    throw error;
  }
  return {
    host: `${LOOPBACK}:${port}`,
    url: `http://${LOOPBACK}:${port}`,
    process: child,
    stop: async () => {
      await child.stop();
      await removeTempDir(dataDir);
    },
  };
}

export interface SeededRegistry {
  registry: TestRegistry;
  /** repository:tag -> manifest digest as pushed. */
  digests: Map<string, string>;
}

/** A real docker-registry holding one small sample image per repository:tag. */
export async function registryWithImages(name: string, images: Array<{ repository: string; tag: string }>): Promise<SeededRegistry> {
  const registry = await startRegistry({ name });
  const work = await makeTempDir(`${name}-layout`);
  try {
    const digests = new Map<string, string>();
    for (const { repository, tag } of images) {
      const layout = await writeSampleLayout(join(work, repository.replaceAll('/', '_')), [
        { tag, layers: [{ size: 64 * 1024, seed: `${name}/${repository}:${tag}` }], gzip: true, cmd: ['/layover-sample'] },
      ]);
      const pushed = await pushSampleLayout(layout, { registryHost: registry.host, repository });
      digests.set(`${repository}:${tag}`, pushed.get(tag)!);
    }
    return { registry, digests };
  } catch (error) {
    await registry.destroy();
    throw error;
  } finally {
    await removeTempDir(work);
  }
}

export interface TestContainerd {
  address: string;
  ctr(args: string[]): Promise<RunResult>;
  stop(): Promise<void>;
}

/** containerd 1.6 with its own root, state and sockets (CRI off: it is not needed and wants more of the host). */
export async function startContainerd(): Promise<TestContainerd> {
  const dir = await makeTempDir('containerd', '/tmp'); // short: unix socket paths are limited to 108 bytes
  const address = join(dir, 'c.sock');
  const config = [
    'version = 2',
    `root = "${join(dir, 'root')}"`,
    `state = "${join(dir, 'state')}"`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    `[grpc]\n  address = "${address}"`,
    `[ttrpc]\n  address = "${address}.ttrpc"`,
    `[debug]\n  address = "${join(dir, 'debug.sock')}"`,
  ].join('\n');
  await writeFile(join(dir, 'config.toml'), `${config}\n`);
  let daemon: ManagedProcess;
  try {
    daemon = await startProcess({
      name: 'containerd',
      command: '/usr/bin/containerd',
      args: ['--config', join(dir, 'config.toml')],
      logFile: join(dir, 'containerd.log'),
      ready: { kind: 'log', pattern: 'containerd successfully booted' },
    });
  } catch (error) {
    await removeTempDir(dir);
    throw error;
  }
  return {
    address,
    ctr: (args) => runCommand('/usr/bin/ctr', ['--address', address, '--namespace', 'layover-test', ...args], { timeoutMs: 120_000 }),
    stop: async () => {
      await daemon.stop();
      await removeTempDir(dir);
    },
  };
}

/** The failure message for a command that should have worked: its own words. */
export function explain(result: RunResult): string {
  return `${result.command}\nexit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}
