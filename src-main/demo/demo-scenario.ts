/**
 * The demo, end to end, on one machine and clearly a simulation:
 *
 *   client ──► office link (LinkShaper) ──► origin (hosted sample images)      pull 1: direct
 *   client ──► Layover (its own temp data) ──► office link ──► origin           pull 2: cold, pull 3: warm
 *
 * Every part is real: generated images with real tar layers, a registry
 * serving them, a TCP proxy with the link's bandwidth and latency, a Layover
 * core, and `docker pull` (or Layover's verifying client without Docker). The
 * shaper's byte counter says what crossed the office link during each pull.
 * Everything it starts is stopped and removed when it ends, however it ends.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { DemoLink, DemoPull, DemoPullKind, DemoResult, DemoStatus } from '../api/types.js';
import { formatBytes } from '../api/format.js';
import type { DemoNeeds } from './demo-needs.js';
import { chooseDemoClient, untilAborted, type DemoClient, type DemoClientChoice, type DemoPullTarget } from './demo-clients.js';
import { createRunDir } from './demo-workdir.js';
import { checkDemoSize, DEFAULT_DEMO_SIZE, DEMO_REPOSITORY, DEMO_TAG, demoRepositories } from './demo-images.js';
import { startHostedRegistry, type HostedRegistry } from './hosted-registry.js';
import { describeLink, findLinkProfile, LINK_PROFILES, LinkShaper, parseLink, type Link } from './link-shaper.js';
import { writeSampleLayout, type SampleTag } from './sample-images.js';

export interface DemoScenarioOptions {
  /** The pulled image's total size in bytes (default DEFAULT_DEMO_SIZE). */
  sizeBytes?: number;
  /** A profile id or "RATE,LATENCY" (default: the first profile, Asia office → US DTR). */
  link?: string;
  /** auto (default): Docker when it answers, else Layover's client. */
  client?: DemoClientChoice;
  /** A core of its own and Docker, handed over by the app. */
  needs: DemoNeeds;
  signal?: AbortSignal;
  /** Every change of the run's state, and about four times a second while a pull runs. */
  onStatus?: (status: DemoStatus) => void;
  /** Parent of the run's temp dir (default: the system's). */
  tempParent?: string;
  logger?: Logger;
}

/** The origin's registry name in the demo core's settings (never resolved: its endpoint is the shaper). */
const ORIGIN_REGISTRY = 'origin.demo.invalid';
const TICK_MS = 250;
const PULL_ORDER: readonly DemoPullKind[] = ['direct', 'cold', 'warm'];
const PULL_LABELS: Record<DemoPullKind, { label: string; route: string }> = {
  direct: { label: 'Straight over the office link', route: 'client → office link → origin' },
  cold: { label: 'Through Layover, cold', route: 'client → Layover → office link → origin' },
  warm: { label: 'Through Layover, warm', route: 'client → Layover (cache)' },
};

// ---------------------------------------------------------------- links and the idle status

/** The links the demo offers, as the API shows them; the first is the default. */
export function demoProfiles(): DemoLink[] {
  return LINK_PROFILES.map((profile) => toDemoLink(profile.link, profile.id, profile.label));
}

/** A profile id or "20mbit,180ms" as the demo's link; throws with the reason when unreadable. */
export function resolveDemoLink(text: string | undefined): { link: Link; demoLink: DemoLink } {
  const profile = findLinkProfile(text ?? LINK_PROFILES[0]!.id);
  if (profile) return { link: profile.link, demoLink: toDemoLink(profile.link, profile.id, profile.label) };
  const link = parseLink(text!);
  return { link, demoLink: toDemoLink(link, undefined, 'Custom link') };
}

function toDemoLink(link: Link, id: string | undefined, label: string): DemoLink {
  return { ...(id ? { id } : {}), label, description: describeLink(link), downBytesPerSecond: link.down, latencyMs: link.latencyMs };
}

function waitingPulls(bytesTotal = 0): DemoPull[] {
  return PULL_ORDER.map((kind) => ({ kind, ...PULL_LABELS[kind], state: 'waiting', bytesDone: 0, bytesTotal, seconds: 0, linkBytes: 0 }));
}

/** What the demo says before its first run. */
export function idleDemoStatus(): DemoStatus {
  const profiles = demoProfiles();
  return {
    state: 'idle', simulation: true, step: 'Ready to run', link: profiles[0]!, pulls: waitingPulls(),
    profiles, defaultSizeBytes: DEFAULT_DEMO_SIZE,
  };
}

// ---------------------------------------------------------------- the run

/** Runs the three pulls and returns what they measured; rejects (after cleaning up) when it fails or is cancelled. */
export async function runDemoScenario(options: DemoScenarioOptions): Promise<DemoResult> {
  const sizeBytes = checkDemoSize(options.sizeBytes ?? DEFAULT_DEMO_SIZE);
  const { link, demoLink } = resolveDemoLink(options.link);
  const signal = options.signal ?? new AbortController().signal;
  const tracker = new DemoTracker(demoLink, options.onStatus);
  const cleanup = new Cleanup(options.logger);
  let result: DemoResult | undefined;
  try {
    tracker.step('Looking for Docker');
    const { client, note } = await untilAborted(chooseDemoClient(options.client ?? 'auto', options.needs), signal);
    const stage = await buildStage({ sizeBytes, link, signal, tracker, cleanup, tempParent: options.tempParent ?? tmpdir(), logger: options.logger, needs: options.needs });
    tracker.setClient(client, note);
    for (const kind of PULL_ORDER) await runPull(kind, stage, client, tracker, signal, cleanup);
    result = tracker.result(client.kind);
  } catch (error) {
    tracker.step('Cleaning up');
    await cleanup.run();
    if (signal.aborted) tracker.cancelled();
    else tracker.failed(errorText(error));
    throw error;
  }
  tracker.step('Cleaning up');
  await cleanup.run();
  tracker.done();
  return result;
}

interface Stage {
  shaper: LinkShaper;
  layoverUrl: string;
  target: Omit<DemoPullTarget, 'registryUrl'>;
}

interface StageOptions {
  sizeBytes: number;
  link: Link;
  signal: AbortSignal;
  tracker: DemoTracker;
  cleanup: Cleanup;
  tempParent: string;
  logger: Logger | undefined;
  needs: DemoNeeds;
}

/** Images, origin, link and Layover, each registered for cleanup as soon as it exists. */
async function buildStage({ sizeBytes, link, signal, tracker, cleanup, tempParent, logger, needs }: StageOptions): Promise<Stage> {
  const work = await createRunDir(tempParent);
  cleanup.add(() => rm(work, { recursive: true, force: true }));
  tracker.step('Generating the sample images');
  const runId = work.slice(-6);
  // Not abandoned on cancel: a generation left running would write into the dir after cleanup removed it.
  const layouts = await writeLayouts(work, sizeBytes, runId, signal);
  const pulled = layouts.pulledTag;
  tracker.setImage(`${DEMO_REPOSITORY}:${DEMO_TAG}`, pulled.totalBytes, pulled.manifests[0]!.layers.length);

  tracker.step('Starting the origin registry, the office link and Layover');
  const origin: HostedRegistry = await startHostedRegistry(layouts.repositories);
  cleanup.add(() => origin.close());
  const originUrl = new URL(origin.url);
  const shaper = await LinkShaper.start({ target: { host: originUrl.hostname, port: Number(originUrl.port) }, link });
  cleanup.add(() => shaper.stop());
  const core = await needs.startCore({ dataDir: join(work, 'layover'), registryName: ORIGIN_REGISTRY, upstreamUrl: shaper.url, ...(logger ? { logger } : {}) });
  cleanup.add(() => core.stop());
  signal.throwIfAborted();
  return {
    shaper,
    layoverUrl: core.url,
    target: { repository: DEMO_REPOSITORY, tag: DEMO_TAG, layers: pulled.manifests[0]!.layers },
  };
}

async function writeLayouts(work: string, sizeBytes: number, runId: string, signal: AbortSignal): Promise<{ repositories: Array<{ name: string; layoutDir: string }>; pulledTag: SampleTag }> {
  const repositories: Array<{ name: string; layoutDir: string }> = [];
  let pulledTag: SampleTag | undefined;
  for (const repository of demoRepositories(sizeBytes, runId)) {
    signal.throwIfAborted();
    const layoutDir = join(work, 'origin', repository.name.replace('/', '-'));
    const layout = await writeSampleLayout(layoutDir, repository.images);
    repositories.push({ name: repository.name, layoutDir });
    if (repository.name === DEMO_REPOSITORY) pulledTag = layout.tags.find((tag) => tag.tag === DEMO_TAG);
  }
  return { repositories, pulledTag: pulledTag! };
}

async function runPull(kind: DemoPullKind, stage: Stage, client: DemoClient, tracker: DemoTracker, signal: AbortSignal, cleanup: Cleanup): Promise<void> {
  const target: DemoPullTarget = { ...stage.target, registryUrl: kind === 'direct' ? stage.shaper.url : stage.layoverUrl };
  // A pull abandoned on cancel may still complete in dockerd: its image goes at cleanup too.
  cleanup.add(() => client.forget(target));
  const linkAtStart = stage.shaper.stats().bytesDown;
  const started = performance.now();
  const measure = () => ({ seconds: (performance.now() - started) / 1000, linkBytes: stage.shaper.stats().bytesDown - linkAtStart });
  tracker.startPull(kind);
  const ticker = setInterval(() => tracker.progress(kind, measure()), TICK_MS);
  try {
    await client.pull(target, (bytesDone) => tracker.received(kind, bytesDone), signal);
    tracker.finishPull(kind, measure());
  } catch (error) {
    tracker.stopPull(kind, signal.aborted ? 'cancelled' : 'failed', measure());
    throw error;
  } finally {
    clearInterval(ticker);
  }
  // Docker keeps the layers it pulled: remove them, so the next pull downloads every byte again.
  await client.forget(target);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------- cleanup

/** What a run started, stopped in reverse order; a failure to stop one thing does not keep the rest running. */
class Cleanup {
  private readonly steps: Array<() => Promise<unknown>> = [];

  constructor(private readonly logger: Logger | undefined) {}

  add(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    for (let step = this.steps.pop(); step; step = this.steps.pop()) {
      try {
        await step();
      } catch (error) {
        this.logger?.warn({ err: error }, 'the demo could not stop something it started');
      }
    }
  }
}

// ---------------------------------------------------------------- status

/** Holds the run's DemoStatus and hands a copy to the listener at every change. */
class DemoTracker {
  private readonly status: DemoStatus;

  constructor(link: DemoLink, private readonly listener: ((status: DemoStatus) => void) | undefined) {
    this.status = { ...idleDemoStatus(), state: 'preparing', step: 'Starting', link, startedAt: Date.now() };
    this.emit();
  }

  step(text: string): void {
    this.status.step = text;
    this.emit();
  }

  setImage(reference: string, bytes: number, layers: number): void {
    this.status.image = { reference, bytes, layers };
    this.status.pulls = waitingPulls(bytes);
    this.emit();
  }

  setClient(client: DemoClient, note: string | undefined): void {
    this.status.client = client.kind;
    this.status.state = 'running';
    this.status.step = note ?? `Pulling with ${client.description}`;
    this.emit();
  }

  startPull(kind: DemoPullKind): void {
    const index = PULL_ORDER.indexOf(kind);
    this.pull(kind).state = 'running';
    const { label } = PULL_LABELS[kind];
    this.status.step = `Pull ${index + 1} of 3: ${label[0]!.toLowerCase()}${label.slice(1)}`;
    this.emit();
  }

  received(kind: DemoPullKind, bytesDone: number): void {
    const pull = this.pull(kind);
    pull.bytesDone = Math.min(pull.bytesTotal, bytesDone);
  }

  progress(kind: DemoPullKind, measured: { seconds: number; linkBytes: number }): void {
    Object.assign(this.pull(kind), measured);
    this.emit();
  }

  finishPull(kind: DemoPullKind, measured: { seconds: number; linkBytes: number }): void {
    const pull = this.pull(kind);
    Object.assign(pull, measured, { state: 'done', bytesDone: pull.bytesTotal });
    this.emit();
  }

  stopPull(kind: DemoPullKind, state: 'failed' | 'cancelled', measured: { seconds: number; linkBytes: number }): void {
    Object.assign(this.pull(kind), measured, { state });
    this.emit();
  }

  result(client: 'docker' | 'layover'): DemoResult {
    const [direct, cold, warm] = PULL_ORDER.map((kind) => this.pull(kind)) as [DemoPull, DemoPull, DemoPull];
    const speedup = round(direct.seconds / Math.max(warm.seconds, 0.001), 1);
    const image = this.status.image!;
    const result: DemoResult = {
      simulation: true,
      image: image.reference,
      bytes: image.bytes,
      layers: image.layers,
      client,
      link: this.status.link,
      directSeconds: round(direct.seconds, 3),
      coldSeconds: round(cold.seconds, 3),
      cachedSeconds: round(warm.seconds, 3),
      linkBytes: { direct: direct.linkBytes, cold: cold.linkBytes, warm: warm.linkBytes },
      speedup,
      summary: summarize(speedup, warm.linkBytes),
    };
    this.status.result = result;
    return result;
  }

  done(): void {
    this.finish('done', 'Done; everything the demo started is stopped and removed');
  }

  cancelled(): void {
    this.finish('cancelled', 'Cancelled; everything the demo started is stopped');
  }

  failed(error: string): void {
    this.status.error = error;
    this.finish('failed', 'Failed; everything the demo started is stopped');
  }

  private finish(state: DemoStatus['state'], step: string): void {
    for (const pull of this.status.pulls) if (pull.state === 'waiting' || pull.state === 'running') pull.state = state === 'failed' ? 'failed' : 'cancelled';
    Object.assign(this.status, { state, step, finishedAt: Date.now() });
    this.emit();
  }

  private pull(kind: DemoPullKind): DemoPull {
    return this.status.pulls.find((pull) => pull.kind === kind)!;
  }

  private emit(): void {
    this.listener?.(structuredClone(this.status));
  }
}

/** "warm pull 74× faster; 0 bytes over the office link". */
export function summarize(speedup: number, warmLinkBytes: number): string {
  const times = speedup >= 10 ? Math.round(speedup).toString() : speedup.toFixed(1);
  const overLink = warmLinkBytes === 0 ? '0 bytes' : formatBytes(warmLinkBytes);
  return `warm pull ${times}× faster; ${overLink} over the office link`;
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
