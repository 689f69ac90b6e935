import type { Command } from 'commander';
import { pino } from 'pino';
import { LayoverApiError } from '../api/http-client.js';
import type { LayoverApi } from '../api/layover-api.js';
import type { DemoRequest, DemoResult, DemoStatus } from '../api/types.js';
import { formatBytes, parseBytes } from '../api/format.js';
import { findRunningInstance } from '../app/instance.js';
import { createDemoService, demoLinkIds, type DemoClientChoice } from '../app/demo-wiring.js';
import { CliError } from './errors.js';
import { connectAdmin, dashboardLoginUrl, openInBrowser } from './admin-connection.js';
import { createDemoDisplay, formatDemoResult, type DemoDisplay } from './demo-display.js';

/**
 * The demo's command line (a contract, see issue 8):
 *   layover demo [--size SIZE] [--link PROFILE|RATE,LATENCY] [--client auto|docker|layover] [--no-ui] [--json]
 *
 * By default the demo is shown where it shows best: when a Layover runs on
 * this machine, it runs there, its dashboard opens on the Demo page (three
 * pulls side by side), and this terminal follows along. With no running
 * Layover (a fresh laptop, a shell over SSH) it runs here, with live bars:
 * the app's own demo service in this process, asked and followed the same way.
 * `--no-ui` always runs it here with plain lines and opens nothing.
 * `--json` prints the measurements as one JSON object, the last line on
 * stdout (the progress then goes to stderr).
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('show what an office cache does, on this machine: a simulated slow link and origin, pulled straight over the link, then through Layover cold and warm')
    .option('--size <size>', 'size of the pulled image, e.g. 40MiB (the default), 200MB, 1GiB; its layers scale with it')
    .option('--link <profile|rate,latency>', `the office link: ${demoLinkIds().join(', ')} (default ${demoLinkIds()[0]}), or a rate and a latency such as 20mbit,180ms`)
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
/** A run in this process is followed more often: its bars move four times a second. */
const LOCAL_POLL_INTERVAL_MS = 250;

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

/** The size as bytes; the link goes as typed: the demo service checks both before it starts anything. */
export function demoRequest(flags: Pick<DemoFlags, 'size' | 'link'>): DemoRequest {
  const sizeBytes = flags.size === undefined ? undefined : parseBytes(flags.size);
  if (flags.size !== undefined && sizeBytes === undefined) throw new CliError(`cannot read the size "${flags.size}": give bytes with a unit, e.g. 40MiB, 200MB or 1GiB`);
  return { ...(sizeBytes === undefined ? {} : { sizeBytes }), ...(flags.link === undefined ? {} : { link: flags.link }) };
}

function clientChoice(value: string): DemoClientChoice {
  if (value === 'auto' || value === 'docker' || value === 'layover') return value;
  throw new CliError(`--client expects auto, docker or layover, got "${value}"`);
}

// ---------------------------------------------------------------- here, in this process

/** Runs the demo in this process: the app's demo service, asked and followed like a running Layover's. */
async function runHere(request: DemoRequest, client: DemoClientChoice, out: NodeJS.WritableStream, live: boolean): Promise<DemoResult> {
  // The demo's own log would interleave with the progress: only its outcome, printed below, matters here.
  const api = createDemoService({ publish: () => undefined, logger: pino({ level: 'silent' }) }, { client });
  let started: DemoStatus;
  try {
    started = await api.startDemo(request);
  } catch (error) {
    throw new CliError((error as Error).message); // a size or link it cannot use: nothing was started
  }
  const sizeBytes = request.sizeBytes ?? started.defaultSizeBytes;
  out.write(`Layover demo, a simulation on this machine: ${started.link.label}, ${started.link.description}; an image of ${formatBytes(sizeBytes)}\n`);
  return followDemo(api, createDemoDisplay(out, live), LOCAL_POLL_INTERVAL_MS);
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
    if (error instanceof LayoverApiError && error.code === 'BAD_REQUEST') throw new CliError(error.message); // a size or link it cannot use
    if (error instanceof LayoverApiError) throw new CliError(`the running Layover at ${instance.adminUrl} did not start the demo: ${error.message}`);
    return undefined; // not answering: it is stopping, or the file is stale
  }
  const page = await dashboardLoginUrl(connection, 'demo');
  out.write(`The demo runs in the Layover at ${instance.adminUrl}; watch it in the dashboard: ${page}\n`);
  // Only a person at a terminal gets a window; scripts and CI do not.
  if ((process.stdout as NodeJS.WriteStream).isTTY) openInBrowser(page);
  return followDemo(api, createDemoDisplay(out, false));
}

async function followDemo(api: Pick<LayoverApi, 'getDemo' | 'cancelDemo'>, display: DemoDisplay, pollMs = POLL_INTERVAL_MS): Promise<DemoResult> {
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
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  } finally {
    display.stop();
    process.off('SIGINT', cancel);
  }
}
