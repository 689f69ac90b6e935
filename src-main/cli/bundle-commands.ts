import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import type { LayoverApi } from '../api/layover-api.js';
import type { BundleSelection, BundleTask, ExportRequest } from '../api/types.js';
import { formatBytes } from '../api/format.js';
import { CliError } from './errors.js';
import { TerminalProgress } from './terminal-progress.js';
import { connectAdmin } from './admin-connection.js';
import { prefetchRequest, reportingFailures } from './prefetch-commands.js';

/**
 * Courier bundles' command line (a contract, see issue 17). Each asks the
 * running instance; paths are that instance's, made absolute here.
 *   layover export REPO [--tags SEL] [--platform P] | --rule NAME | --all-rules  --out PATH[.tar|.tar.zst] [--have FILE]
 *   layover inventory --out FILE
 *   layover import PATH|-  [--pin-days N] [--repository REPO]
 * The last line of export and import is one JSON object.
 */
export function registerBundleCommands(program: Command): void {
  program
    .command('export')
    .description('write a courier bundle (an OCI image layout: directory, .tar or .tar.zst) of cached images, for an office without a link')
    .argument('[repo]', 'a repository as for prefetch: alpine, team/app, dtr.example.com/eng/app (REPO:TAG names one tag)')
    .option('--tags <selector>', 'which tags, as for prefetch: 1.2,latest | 1.* | semver:^1.2 | newest:3 (default: latest)')
    .option('--platform <os/arch|all>', "platforms of a multi-platform image (default: this machine's)")
    .option('--rule <id>', 'the tags a prefetch rule selects')
    .option('--all-rules', 'the tags every enabled prefetch rule selects')
    .requiredOption('--out <path>', 'where to write: PATH.tar for an archive, PATH.tar.zst for a zstd-compressed one, otherwise a directory')
    .option('--have <file>', "the other side's inventory (layover inventory) or a previous bundle's layover-bundle.json: leave out what it holds")
    .option('--admin <url>', "the running Layover's control API (default: the running instance's)")
    .action(reportingFailures(exportCommand));
  program
    .command('inventory')
    .description("write what this Layover holds, for the other side's `layover export --have`")
    .requiredOption('--out <file>', 'the inventory file to write')
    .option('--admin <url>', "the running Layover's control API (default: the running instance's)")
    .action(reportingFailures(inventoryCommand));
  program
    .command('import')
    .description('import a courier bundle (directory, .tar or .tar.zst, or - for a tar on standard input): every blob verified')
    .argument('<path>', 'the bundle: a directory, a .tar (plain, gzip or zstd: told by its bytes), or - (standard input, on the machine Layover runs on)')
    .option('--pin-days <days>', 'keep the imported content from eviction this many days (0: not pinned)', '30')
    .option('--repository <repo>', 'for an OCI layout from another tool: the repository its tags belong to')
    .option('--admin <url>', "the running Layover's control API (default: the running instance's)")
    .action(reportingFailures(importCommand));
}

interface ExportFlags {
  tags?: string;
  platform?: string;
  rule?: string;
  allRules?: boolean;
  out: string;
  have?: string;
  admin?: string;
}

async function exportCommand(repo: string | undefined, flags: ExportFlags): Promise<void> {
  const request: ExportRequest = { selections: exportSelections(repo, flags), out: resolve(flags.out), ...(flags.have ? { have: resolve(flags.have) } : {}) };
  const { api } = await connectAdmin(flags.admin);
  const plan = await api.planExport(request);
  say(`layover: ${plan.tags.length} tag${plan.tags.length === 1 ? '' : 's'}, ${plan.manifests} manifests and ${plan.blobs} blobs: ${formatBytes(plan.bytes)}`
    + (plan.skippedBlobs ? `; leaving out ${plan.skippedBlobs} blobs (${formatBytes(plan.skippedBytes)}) the other side holds` : '')
    + (plan.missingBlobs ? `; fetching ${plan.missingBlobs} blobs (${formatBytes(plan.missingBytes)}) the cache lacks` : ''));
  const task = await followTask(api, await api.startExport(request));
  const result = task.exported!;
  say(`layover: wrote ${result.path}`);
  say(JSON.stringify({ bytes: result.bytes, blobs: result.blobs, manifests: result.manifests, skippedBlobs: result.skippedBlobs, skippedBytes: result.skippedBytes, tags: result.tags, path: result.path }));
}

/** REPO with --tags/--platform (prefetch's own reading of them), or --rule, or --all-rules: exactly one. */
export function exportSelections(repo: string | undefined, flags: Pick<ExportFlags, 'tags' | 'platform' | 'rule' | 'allRules'>): BundleSelection[] {
  const chosen = [repo !== undefined, flags.rule !== undefined, Boolean(flags.allRules)].filter(Boolean).length;
  if (chosen !== 1) throw new CliError('name what to export: a repository (with --tags, --platform), --rule ID, or --all-rules: one of them');
  if (flags.rule !== undefined) return [{ kind: 'rule', rule: flags.rule }];
  if (flags.allRules) return [{ kind: 'all-rules' }];
  if ((flags.tags !== undefined || flags.platform !== undefined) && repo === undefined) throw new CliError('--tags and --platform go with a repository');
  const request = prefetchRequest(repo!, flags);
  return [{ kind: 'repository', repository: request.repository, ...(request.tags ? { tags: request.tags } : {}), ...(request.platforms ? { platforms: request.platforms } : {}) }];
}

async function inventoryCommand(flags: { out: string; admin?: string }): Promise<void> {
  const { api } = await connectAdmin(flags.admin);
  const result = await api.writeInventory({ out: resolve(flags.out) });
  say(`layover: wrote ${result.path}: ${result.blobs} blobs, ${formatBytes(result.bytes)}`);
  say(JSON.stringify(result));
}

interface ImportFlags {
  pinDays: string;
  repository?: string;
  admin?: string;
}

async function importCommand(path: string, flags: ImportFlags): Promise<void> {
  const pinDays = Number(flags.pinDays);
  if (!Number.isFinite(pinDays) || pinDays < 0) throw new CliError(`--pin-days expects a number of days, 0 or more, got "${flags.pinDays}"`);
  const { api } = await connectAdmin(flags.admin);
  const staged = path === '-' ? await stageStandardInput(api) : undefined;
  let task: BundleTask;
  try {
    const started = await api.startImport({ path: staged ?? resolve(path), pinDays, ...(flags.repository ? { repository: flags.repository } : {}), ...(staged ? { removeAfter: true } : {}) });
    task = await followTask(api, started);
  } catch (error) {
    if (staged) await rm(staged, { force: true });
    throw error;
  }
  const result = task.imported!;
  say(`layover: added ${result.added.length} (${formatBytes(result.addedBytes)}), already here ${result.alreadyPresent.length}, refused ${result.refused.length}; tags: ${result.tags.join(', ') || 'none'}`);
  for (const refused of result.refused) process.stderr.write(`layover: refused ${refused.entry}: ${refused.reason}\n`);
  say(JSON.stringify({ added: result.added, alreadyPresent: result.alreadyPresent, refused: result.refused, tags: result.tags, ...(result.pinnedUntil ? { pinnedUntil: new Date(result.pinnedUntil).toISOString() } : {}) }));
  if (result.refused.length > 0) process.exitCode = 1;
}

/**
 * A tar on standard input is written under the instance's data folder first
 * (owner-only), then imported from there and removed: the instance reads a
 * file, and nothing lands outside its data folder.
 */
async function stageStandardInput(api: LayoverApi): Promise<string> {
  const { dataDir } = await api.getStatus();
  const dir = join(dataDir, 'bundles', 'incoming');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${randomUUID()}.tar`);
  try {
    await pipeline(process.stdin, createWriteStream(file, { mode: 0o600, flags: 'wx' }));
  } catch (error) {
    await rm(file, { force: true });
    throw new CliError(`could not read the bundle from standard input: ${(error as Error).message}`);
  }
  return file;
}

// ---------------------------------------------------------------- progress

const POLL_INTERVAL_MS = 300;

/** Polls the task until it ends (Node 20 has no EventSource for the live events); a bar on a terminal, lines elsewhere. */
async function followTask(api: LayoverApi, started: BundleTask): Promise<BundleTask> {
  const display = createTaskDisplay(process.stdout);
  try {
    for (;;) {
      const task = (await api.listBundleTasks()).find((candidate) => candidate.id === started.id);
      if (!task) throw new CliError(`the ${started.kind} of ${started.path} is gone from Layover (was it restarted?)`);
      display.update(task);
      if (task.state === 'failed') throw new CliError(`${task.kind} of ${task.path} failed: ${task.error ?? 'no reason given'}`);
      if (task.state === 'done') return task;
      await new Promise((done) => setTimeout(done, POLL_INTERVAL_MS));
    }
  } finally {
    display.stop();
  }
}

interface TaskDisplay {
  update(task: BundleTask): void;
  stop(): void;
}

/** A bar on a terminal; elsewhere a line when the step changes, and every few seconds while bytes move. */
function createTaskDisplay(stream: NodeJS.WriteStream): TaskDisplay {
  const progress = new TerminalProgress(stream, { live: TerminalProgress.isTerminal(stream) });
  return {
    update(task) {
      const detail = `${formatBytes(task.bytesDone)} of ${formatBytes(task.bytesTotal)} | ${task.blobsDone}/${task.blobsTotal} blobs | ${task.step}`;
      if (progress.live) progress.row(task.id, { label: task.kind, done: task.bytesDone, total: task.bytesTotal, detail });
      else if (progress.lineDue(task.id, task.step, task.bytesDone)) {
        progress.line(`${task.kind} ${task.path}: ${task.step}: ${formatBytes(task.bytesDone)} of ${formatBytes(task.bytesTotal)} (${task.blobsDone} of ${task.blobsTotal} blobs)`);
      }
    },
    stop: () => progress.stop(),
  };
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}
