import type { Command } from 'commander';
import { LayoverApiError } from '../api/http-client.js';
import type { LayoverApi } from '../api/layover-api.js';
import type { JobStatus, PrefetchRequest } from '../api/types.js';
import { describeAttachments, formatBytes, formatDuration } from '../api/format.js';
import { parsePlatformChoice, parseTagSelector } from '../api/selectors.js';
import { CliError } from './errors.js';
import { TerminalProgress } from './terminal-progress.js';
import { connectAdmin, type AdminConnection } from './admin-connection.js';

/**
 * Prefetch's command line (a contract, see issue 4):
 *   layover prefetch REPO [--tags SELECTOR] [--platform os/arch|all] [--admin URL]
 *   layover sync [--admin URL]
 *   layover gc [--admin URL]
 * Each asks the running instance through its control API.
 */
export function registerPrefetchCommands(program: Command): void {
  program
    .command('prefetch')
    .description('fetch images into the running Layover now, and wait until they are in the cache')
    .argument('<repo>', 'the repository: alpine, team/app, dtr.example.com/eng/app (REPO:TAG names one tag)')
    .option('--tags <selector>', 'which tags: 1.2,latest (exact list) | 1.* or glob:1.* (glob) | semver:^1.2 (range) | newest:3 (default: latest)')
    .option('--platform <os/arch|all>', "platforms of a multi-platform image: os/arch[/variant], several separated by commas, or all (default: this machine's)")
    .option('--admin <url>', "the running Layover's control API, e.g. http://127.0.0.1:5051 (default: the running instance's)")
    .action(reportingFailures(prefetchCommand));
  program
    .command('sync')
    .description('run every enabled prefetch rule once now, and wait until each is done')
    .option('--admin <url>', "the running Layover's control API (default: the running instance's)")
    .action(reportingFailures(syncCommand));
  program
    .command('gc')
    .description('evict least-recently-used content that no rule pins, down to the cache quota, and say what was freed')
    .option('--admin <url>', "the running Layover's control API (default: the running instance's)")
    .action(reportingFailures(gcCommand));
}

interface AdminFlags {
  admin?: string;
}

interface PrefetchFlags extends AdminFlags {
  tags?: string;
  platform?: string;
}

const POLL_INTERVAL_MS = 500;

async function prefetchCommand(repo: string, flags: PrefetchFlags): Promise<void> {
  const request = prefetchRequest(repo, flags);
  const { api } = await connect(flags);
  const job = await api.prefetch(request);
  const display = createJobDisplay(process.stdout);
  const finished = await followJobs(api, [job.id], (current) => display.update(current));
  display.stop();
  const [last] = finished;
  if (last?.state === 'done') {
    await sayAttachments(api, last);
    say(`layover: ${label(last)}: ${formatBytes(last.bytesTotal)} in ${last.blobsTotal} blob${last.blobsTotal === 1 ? '' : 's'} are in the cache`);
    return;
  }
  throw new CliError(`prefetch of ${last ? label(last) : repo} ${last?.state === 'cancelled' ? 'was cancelled' : `failed: ${last?.error ?? 'the job disappeared'}`}`);
}

/** REPO and flags as a PrefetchRequest; REPO:TAG is a shorthand for --tags TAG. */
export function prefetchRequest(repo: string, flags: Pick<PrefetchFlags, 'tags' | 'platform'>): PrefetchRequest {
  if (repo.includes('@')) throw new CliError(`prefetch takes a repository and tags, not a digest: ${repo}`);
  const tagAt = repo.lastIndexOf(':');
  const inlineTag = tagAt > repo.lastIndexOf('/') ? repo.slice(tagAt + 1) : undefined;
  if (inlineTag !== undefined && flags.tags !== undefined) throw new CliError(`give the tag in REPO (${repo}) or in --tags, not both`);
  const repository = inlineTag === undefined ? repo : repo.slice(0, tagAt);
  try {
    const selectorText = flags.tags ?? (inlineTag === undefined ? undefined : `exact:${inlineTag}`);
    return {
      repository,
      ...(selectorText !== undefined ? { tags: parseTagSelector(selectorText) } : {}),
      ...(flags.platform !== undefined ? { platforms: parsePlatformChoice(flags.platform) } : {}),
    };
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}

async function syncCommand(flags: AdminFlags): Promise<void> {
  const { api } = await connect(flags);
  const jobs = await api.syncNow({});
  if (jobs.length === 0) {
    say('layover: no enabled prefetch rules: nothing to sync');
    return;
  }
  const lastState = new Map<string, string>();
  const finished = await followJobs(api, jobs.map((job) => job.id), (job) => {
    if (lastState.get(job.id) === job.state) return;
    lastState.set(job.id, job.state);
    say(`${label(job)}: ${describeJob(job)}`);
  });
  const failed = finished.filter((job) => job.state !== 'done');
  if (failed.length > 0) {
    throw new CliError(`${failed.length} of ${finished.length} sync jobs did not finish: ${failed.map((job) => `${label(job)}: ${job.error ?? job.state}`).join('; ')}`);
  }
  say(`layover: ${finished.length} sync job${finished.length === 1 ? '' : 's'} done`);
}

async function gcCommand(flags: AdminFlags): Promise<void> {
  const { api } = await connect(flags);
  const report = await api.gc();
  say(`layover: ${report.summary}`);
}

// ---------------------------------------------------------------- talking to the instance

async function connect(flags: AdminFlags): Promise<AdminConnection> {
  return connectAdmin(flags.admin);
}

/** Polls until every job is done, failed or cancelled (Node 20 has no EventSource for the live events). */
async function followJobs(api: LayoverApi, ids: string[], onUpdate: (job: JobStatus) => void): Promise<JobStatus[]> {
  for (;;) {
    const jobs = (await api.listJobs()).filter((job) => ids.includes(job.id));
    jobs.forEach(onUpdate);
    const missing = ids.filter((id) => !jobs.some((job) => job.id === id));
    if (missing.length > 0) throw new CliError(`the prefetch job ${missing[0]} is gone from Layover (was it restarted with other data?)`);
    if (jobs.every((job) => job.state === 'done' || job.state === 'failed' || job.state === 'cancelled')) return jobs;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

/** The instance's API errors and unreachable addresses become the one-line CliError main.ts prints. */
export function reportingFailures<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (error) {
      if (error instanceof CliError) throw error;
      if (error instanceof LayoverApiError) throw new CliError(error.message);
      const cause = (error as { cause?: NodeJS.ErrnoException }).cause;
      if (error instanceof TypeError && cause) throw new CliError(`cannot reach Layover's control API: ${cause.code ?? cause.message}: is \`layover serve\` running there?`);
      throw error;
    }
  };
}

// ---------------------------------------------------------------- progress

interface JobDisplay {
  update(job: JobStatus): void;
  stop(): void;
}

/** A bar on a terminal; elsewhere (CI logs, pipes) a plain line on each state change and every few seconds. */
function createJobDisplay(stream: NodeJS.WriteStream): JobDisplay {
  const progress = new TerminalProgress(stream, { live: TerminalProgress.isTerminal(stream) });
  return {
    update(job) {
      if (progress.live) {
        const state = job.state === 'running' && job.etaSeconds !== undefined ? `${formatDuration(job.etaSeconds)} left` : job.state;
        const detail = `${formatBytes(job.bytesDone)} of ${formatBytes(job.bytesTotal)} | ${job.blobsDone}/${job.blobsTotal} blobs | ${formatBytes(job.bytesPerSecond)}/s | ${state}`;
        progress.row(job.id, { label: label(job), done: job.bytesDone, total: job.bytesTotal, detail });
      } else if (progress.lineDue(job.id, job.state, job.bytesDone)) {
        progress.line(`${label(job)}: ${describeJob(job)}`);
      }
    },
    stop: () => progress.stop(),
  };
}

/** "library/app 1.0, 1.1" (tags once planned). */
function label(job: JobStatus): string {
  return job.tags.length > 0 ? `${job.repository} ${job.tags.join(', ')}` : job.repository;
}

/** "running: 12.0 MiB of 40.0 MiB (3 of 7 blobs), 2.1 MiB/s, 13 s left". */
function describeJob(job: JobStatus): string {
  if (job.state === 'failed') return `failed: ${job.error ?? 'no reason given'}`;
  if (job.state === 'queued' || job.state === 'planning' || job.state === 'cancelled') return job.state;
  const progress = `${formatBytes(job.bytesDone)} of ${formatBytes(job.bytesTotal)} (${job.blobsDone} of ${job.blobsTotal} blobs)`;
  const speed = job.state === 'running' && job.bytesPerSecond > 0 ? `, ${formatBytes(job.bytesPerSecond)}/s` : '';
  const eta = job.state === 'running' && job.etaSeconds !== undefined ? `, ${formatDuration(job.etaSeconds)} left` : '';
  return `${job.state}: ${progress}${speed}${eta}`;
}

/** Per tag, whether it is signed and what is attached (as the Repositories page shows it): "library/app 1.0: signed, 1 SBOM (all 2 cached)". */
async function sayAttachments(api: LayoverApi, job: JobStatus): Promise<void> {
  const states = (await api.listTags({ registry: job.registry, repository: job.repository })).filter((state) => job.tags.includes(state.tag));
  for (const state of states) if (state.attachments) say(`${job.repository} ${state.tag}: ${describeAttachments(state.attachments)}`);
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}
