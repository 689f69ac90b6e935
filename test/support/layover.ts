/**
 * Layover itself under test: in-process (fast, and the test can read its
 * telemetry) or as the real `layover serve` child process (for the CLI
 * contract and kill -9).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHttpClient } from '../../src-main/api/http-client.js';
import type { LayoverApi } from '../../src-main/api/layover-api.js';
import { findAdminToken } from '../../src-main/app/admin-credentials.js';
import { pino } from 'pino';
import type { Settings } from '../../src-main/api/types.js';
import { startHeadless, type HeadlessInstance, type HeadlessOptions } from '../../src-main/app/headless.js';
import { applyFlags } from '../../src-main/cli/serve-command.js';
import { defaultSettings } from '../../src-main/app/settings.js';
import { freePort, LOOPBACK } from './ports.js';
import { makeTempDir, removeTempDir, startProcess, type ManagedProcess } from './process.js';

// Admin token files of the instances a test run starts go to a folder of the run, not the user's own.
process.env.LAYOVER_RUNTIME_DIR ??= join(tmpdir(), `layover-test-tokens-${process.pid}`);

export interface LayoverUnderTest {
  instance: HeadlessInstance;
  /** http://127.0.0.1:PORT of the mirror. */
  url: string;
  /** 127.0.0.1:PORT, as used in image references. */
  host: string;
  dataDir: string;
  stop(): Promise<void>;
}

export interface StartLayoverOptions {
  /** The default registry's one endpoint (--upstream); omit to keep the registries of `settings` as they are. */
  upstream?: string;
  /** Tuning of the prefetch scheduler (tests shorten its tick). */
  prefetch?: HeadlessOptions['prefetch'];
  /** NAME=URL[,URL...] as on the command line. */
  registries?: string[];
  dataDir?: string;
  settings?: Partial<Settings>;
}

export async function startLayover(options: StartLayoverOptions): Promise<LayoverUnderTest> {
  const dataDir = options.dataDir ?? (await makeTempDir('layover-data'));
  const ownsDataDir = !options.dataDir;
  const [listenPort, adminPort] = [await freePort(), await freePort()];
  const settings = applyFlags({ ...defaultSettings(), ...options.settings }, {
    listen: `${LOOPBACK}:${listenPort}`,
    admin: options.settings?.admin ?? `${LOOPBACK}:${adminPort}`,
    ...(options.upstream ? { upstream: options.upstream } : {}),
    registry: options.registries ?? [],
  });
  const instance = await startHeadless({ dataDir, settings, logger: pino({ level: 'silent' }), ...(options.prefetch ? { prefetch: options.prefetch } : {}) });
  return {
    instance,
    url: `http://${instance.mirrorAddress}`,
    host: instance.mirrorAddress,
    dataDir,
    stop: async () => {
      await instance.stop();
      if (ownsDataDir) await removeTempDir(dataDir);
    },
  };
}

export interface LayoverProcess {
  process: ManagedProcess;
  url: string;
  host: string;
  adminUrl: string;
  dataDir: string;
}

/** The control API of a running `layover serve`, with the admin token it wrote for its user (as the CLI finds it). */
export async function adminClient(layover: { adminUrl: string }): Promise<LayoverApi> {
  const token = await findAdminToken(layover.adminUrl);
  if (!token) throw new Error(`no admin token file for ${layover.adminUrl}`);
  return createHttpClient({ baseUrl: layover.adminUrl, token });
}

/** Headers that pass the admin listener's checks, for tests that speak raw HTTP to it. */
export async function adminHeaders(layover: { adminUrl: string }): Promise<Record<string, string>> {
  const token = await findAdminToken(layover.adminUrl);
  if (!token) throw new Error(`no admin token file for ${layover.adminUrl}`);
  return { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
}

const CLI_ENTRY = join(import.meta.dirname, '..', '..', 'bin', 'layover.js');

/** The real command line, `layover serve ...`, as a child process (the compiled build: run `npm run build` first). */
export async function startLayoverProcess(args: { dataDir: string; upstream: string; registries?: string[]; port?: number; adminPort?: number; settings?: Partial<Settings> }): Promise<LayoverProcess> {
  if (args.settings) {
    await mkdir(args.dataDir, { recursive: true });
    await writeFile(join(args.dataDir, 'settings.json'), JSON.stringify({ ...defaultSettings(), ...args.settings }, null, 2));
  }
  const port = args.port ?? (await freePort());
  const adminPort = args.adminPort ?? (await freePort());
  const cli = ['serve', '--data', args.dataDir, '--listen', `${LOOPBACK}:${port}`, '--admin', `${LOOPBACK}:${adminPort}`, '--upstream', args.upstream];
  for (const registry of args.registries ?? []) cli.push('--registry', registry);
  const child = await startProcess({
    name: 'layover',
    command: process.execPath,
    args: [CLI_ENTRY, ...cli],
    logFile: join(args.dataDir, '..', `layover-${port}.log`),
    // The admin listener comes up last: once it answers, the mirror and the API both do.
    ready: { kind: 'http', url: `http://${LOOPBACK}:${adminPort}/healthz` },
  });
  return { process: child, url: `http://${LOOPBACK}:${port}`, host: `${LOOPBACK}:${port}`, adminUrl: `http://${LOOPBACK}:${adminPort}`, dataDir: args.dataDir };
}
