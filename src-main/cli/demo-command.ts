import type { Command } from 'commander';
import { LayoverApiError } from '../api/http-client.js';
import type { LayoverApi } from '../api/layover-api.js';
import type { DemoRequest, DemoResult } from '../api/types.js';
import { findRunningInstance } from '../app/instance.js';
import type { DemoClientChoice } from '../demo/demo-clients.js';
import { DEFAULT_DEMO_SIZE, parseDemoSize } from '../demo/demo-images.js';
import { resolveDemoLink, runDemoScenario } from '../demo/demo-scenario.js';
import { createDemoDisplay, formatDemoResult, type DemoDisplay } from '../demo/demo-terminal.js';
import { LINK_PROFILES } from '../demo/link-shaper.js';
import { formatBytes } from '../api/format.js';
import { CliError } from './errors.js';
import { connectAdmin, dashboardLoginUrl, openInBrowser } from './admin-connection.js';

/**
 * The demo's command line (a contract, see issue 8):
 *   layover demo [--size SIZE] [--link PROFILE|RATE,LATENCY] [--client auto|docker|layover] [--no-ui] [--json]
 *
 * By default the demo is shown where it shows best: when a Layover runs on
 * this machine, it runs there, its dashboard opens on the Demo page (three
 * pulls side by side), and this terminal follows along. With no running
 * Layover (a fresh laptop, a shell over SSH) it runs here, with live bars.
 * `--no-ui` always runs it here with plain lines and opens nothing.
 * `--json` prints the measurements as one JSON object, the last line on
 * stdout (the progress then goes to stderr).
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('show what an office cache does, on this machine: a simulated slow link and origin, pulled straight over the link, then through Layover cold and warm')
    .option('--size <size>', 'size of the pulled image, e.g. 40MiB (the default), 200MB, 1GiB; its layers scale with it')
    .option('--link <profile|rate,latency>', `the office link: ${LINK_PROFILES.map((p) => p.id).join(', ')} (default ${LINK_PROFILES[0]!.id}), or a rate and a latency such as 20mbit,180ms`)
    .option('--client <auto|docker|layover>', "who pulls: Docker when it answers (auto, the default), docker, or Layover's own verifying client", 'auto')
    .option('--no-ui', 'run it here in the terminal with plain lines; do not use a running Layover or open its dashboard')
    .option('--json', 'print the measurements as one JSON object, last on stdout')
    .action(async (flags: DemoFlags) => demoCommand(flags));
}

interface DemoFlags {
  size?: string;
  link?: string;
  client: string;
  ui: boolean;
  json?: boolean;
}

const POLL_INTERVAL_MS = 500;

async function demoCommand(flags: DemoFlags): Promise<void> {
  const request = demoRequest(flags);
  const client = clientChoice(flags.client);
  const out = flags.json ? process.stderr : process.stdout;
  // The running Layover pulls with whatever client it finds; a client asked for by name runs here.
  const inDashboard = flags.ui && client === 'auto' ? await runInRunningLayover(request, out) : undefined;
  const result = inDashboard ?? (await runHere(request, client, out, flags.ui && Boolean((out as NodeJS.WriteStream).isTTY)));
  out.write(`\n${formatDemoResult(result)}\n`);
  if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
}

export function demoRequest(flags: Pick<DemoFlags, 'size' | 'link'>): DemoRequest {
  try {
    const sizeBytes = flags.size === undefined ? undefined : parseDemoSize(flags.size);
    resolveDemoLink(flags.link);
    return { ...(sizeBytes === undefined ? {} : { sizeBytes }), ...(flags.link === undefined ? {} : { link: flags.link }) };
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}

function clientChoice(value: string): DemoClientChoice {
  if (value === 'auto' || value === 'docker' || value === 'layover') return value;
  throw new CliError(`--client expects auto, docker or layover, got "${value}"`);
}

// ---------------------------------------------------------------- here, in this process

async function runHere(request: DemoRequest, client: DemoClientChoice, out: NodeJS.WritableStream, live: boolean): Promise<DemoResult> {
  const display = createDemoDisplay(out, live);
  const controller = new AbortController();
  const cancel = () => controller.abort(new Error('cancelled'));
  process.once('SIGINT', cancel);
  const { demoLink } = resolveDemoLink(request.link);
  out.write(`Layover demo, a simulation on this machine: ${demoLink.label}, ${demoLink.description}; an image of ${formatBytes(request.sizeBytes ?? DEFAULT_DEMO_SIZE)}\n`);
  try {
    return await runDemoScenario({ ...request, client, signal: controller.signal, onStatus: (status) => display.update(status) });
  } catch (error) {
    if (controller.signal.aborted) throw new CliError('the demo was cancelled; everything it started is stopped', 130);
    throw new CliError(`the demo failed: ${(error as Error).message}`);
  } finally {
    display.stop();
    process.off('SIGINT', cancel);
  }
}

// ---------------------------------------------------------------- in the running Layover, shown in its dashboard

/** Runs the demo in the Layover running on this machine and follows it; undefined when there is none that offers it. */
async function runInRunningLayover(request: DemoRequest, out: NodeJS.WritableStream): Promise<DemoResult | undefined> {
  const instance = await findRunningInstance();
  if (!instance?.adminUrl) return undefined;
  // Another user's Layover, or one whose token this user cannot read: run here instead.
  const connection = await connectAdmin(instance.adminUrl).catch(() => undefined);
  if (!connection) return undefined;
  const { api } = connection;
  try {
    await api.startDemo(request);
  } catch (error) {
    if (error instanceof LayoverApiError && (error.code === 'NOT_FOUND' || error.code === 'NOT_AVAILABLE')) return undefined;
    if (error instanceof LayoverApiError) throw new CliError(`the running Layover at ${instance.adminUrl} did not start the demo: ${error.message}`);
    return undefined; // not answering: it is stopping, or the file is stale
  }
  const page = await dashboardLoginUrl(connection, 'demo');
  out.write(`The demo runs in the Layover at ${instance.adminUrl}; watch it in the dashboard: ${page}\n`);
  // Only a person at a terminal gets a window; scripts and CI do not.
  if ((process.stdout as NodeJS.WriteStream).isTTY) openInBrowser(page);
  return followDemo(api, createDemoDisplay(out, false));
}

async function followDemo(api: LayoverApi, display: DemoDisplay): Promise<DemoResult> {
  // Ctrl-C stops the demo in the running Layover too; the loop then sees it cancelled.
  const cancel = () => void api.cancelDemo().catch(() => undefined);
  process.once('SIGINT', cancel);
  try {
    for (;;) {
      const status = await api.getDemo();
      display.update(status);
      if (status.state === 'done' && status.result) return status.result;
      if (status.state === 'failed') throw new CliError(`the demo failed: ${status.error ?? 'no reason given'}`);
      if (status.state === 'cancelled') throw new CliError('the demo was cancelled; everything it started is stopped', 130);
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  } finally {
    display.stop();
    process.off('SIGINT', cancel);
  }
}
