import type { DockerPullCheck } from '../api/types.js';
import { newProbeNonce, PROBE_RECORD_PATH, PROBE_REPOSITORY } from '../core/telemetry/pull-probes.js';
import { dockerClient, type DockerConnection } from './docker-engine.js';
import { errorMessage } from './errors.js';
import { isSameMirror, mirrorFromHere, mirrorUrl, unreachableFromVm, type MirrorAddress } from './mirror-address.js';

/**
 * Do Docker's pulls really arrive at Layover? A registry-mirrors entry that
 * Docker cannot reach is not an error to Docker: it pulls from Docker Hub
 * without a word. So Layover asks Docker, through its API, about a reserved
 * Docker Hub name with a fresh nonce (core/telemetry/pull-probes.ts), and then
 * whether that nonce arrived at Layover. A distribution inspect, not a pull:
 * Docker asks its first mirror that answers and nothing else, Layover answers
 * 404 at once, and nothing is downloaded.
 */

/** What the mirror said about a probe: it arrived, it did not, or the mirror could not be asked (and why). */
export type WitnessAnswer = { arrived: boolean } | { silent: string };

/** Asks Layover whether the probe with this nonce arrived. */
export type ProbeWitness = (nonce: string) => Promise<WitnessAnswer>;

/** In-process: the running core's own record. */
export function recordWitness(arrived: (nonce: string) => boolean): ProbeWitness {
  return async (nonce) => ({ arrived: arrived(nonce) });
}

/** From the command line, or for a Layover elsewhere: its mirror says, at GET /layover/probes/<nonce>. */
export function mirrorWitness(mirror: MirrorAddress, timeoutMs = 5_000): ProbeWitness {
  const here = mirrorFromHere(mirror);
  return async (nonce) => {
    let response: Response;
    try {
      response = await fetch(`${mirrorUrl(here)}${PROBE_RECORD_PATH}${nonce}`, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const cause = causeOf(error);
      if (/CERT|TLS|SSL/i.test(cause)) {
        return { silent: `this computer does not trust the certificate of ${here.host} (${cause}), so it could not ask Layover: set NODE_EXTRA_CA_CERTS to its CA file and check again` };
      }
      return { silent: `nothing answers at ${here.host} from this computer (${cause}): Layover is not running there, or listens on another port` };
    }
    const body = await response.json().catch(() => undefined) as { arrived?: unknown } | undefined;
    if (typeof body?.arrived === 'boolean') return { arrived: body.arrived };
    return { silent: `${here.host} answers (HTTP ${response.status}), but not as Layover: another program has that port` };
  };
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause;
  return cause?.code ?? errorMessage(error);
}

export interface PullCheckInput {
  connection: DockerConnection;
  engine: { isDesktop: boolean; mirrors: string[] };
  /** Layover's registry-mirrors entry, as the engine has it. */
  mirror: MirrorAddress;
  witness: ProbeWitness;
  /** How long Docker gets to answer; a firewall that drops packets makes it wait for its own timeouts. */
  timeoutMs?: number;
  now?: () => number;
}

export async function checkDockerPulls(input: PullCheckInput): Promise<DockerPullCheck> {
  const nonce = newProbeNonce();
  const dockerSaid = await askDockerAbout(input.connection, `docker.io/${PROBE_REPOSITORY}:${nonce}`, input.timeoutMs ?? 30_000);
  const answer = await input.witness(nonce);
  const checkedAt = (input.now ?? Date.now)();
  const url = mirrorUrl(input.mirror);
  if ('arrived' in answer && answer.arrived) return { outcome: 'reaches', message: `Docker's pulls reach Layover (a probe pull arrived at ${url})`, checkedAt };
  const cause = likelyCause({ ...input, silent: 'silent' in answer ? answer.silent : undefined });
  const said = dockerSaid === undefined ? '' : ` (Docker answered: ${dockerSaid})`;
  return { outcome: 'unreachable', message: `Docker is configured with ${url} but its pulls do not reach Layover: ${cause}${said}`, checkedAt };
}

/**
 * GET /distribution/<ref>/json: Docker resolves the name through its
 * registry mirrors as a pull would. The answer is expected to be an error
 * (the probe exists nowhere); its words help explain a probe that never came.
 */
async function askDockerAbout(connection: DockerConnection, reference: string, timeoutMs: number): Promise<string | undefined> {
  const docker = await dockerClient(connection, timeoutMs);
  return new Promise((resolve) => {
    docker.modem.dial(
      { path: `/distribution/${reference}/json?`, method: 'GET', options: {}, statusCodes: { 200: true, 401: true, 403: true, 404: true, 500: true } },
      (error: unknown, data: unknown) => resolve(error ? oneLine(errorMessage(error)) : dockerMessage(data)),
    );
  });
}

function dockerMessage(data: unknown): string | undefined {
  const message = (data as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? oneLine(message) : undefined;
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

export interface CauseFacts {
  engine: { isDesktop: boolean; mirrors: string[] };
  mirror: MirrorAddress;
  /** Why the mirror could not be asked, when it could not. */
  silent?: string;
}

/** The likeliest reason, most specific first: what Layover can see from here. */
export function likelyCause({ engine, mirror, silent }: CauseFacts): string {
  if (engine.isDesktop && unreachableFromVm(mirror)) {
    const port = new URL(mirrorUrl(mirror)).port;
    return `Docker Desktop runs its engine in a VM, where ${mirror.hostname} is the VM itself: `
      + `use http://host.docker.internal${port ? `:${port}` : ''} (layover docker configure writes it so), then restart Docker Desktop`;
  }
  if (silent !== undefined) return silent;
  const ahead = mirrorsAhead(engine.mirrors, mirror);
  if (ahead.length > 0) {
    return `Docker asks ${ahead.join(', ')} first and stays with the first mirror that answers: put Layover first (layover docker configure does)`;
  }
  return `Layover answers at ${mirrorFromHere(mirror).host} on this computer, but Docker's requests never came: a firewall between Docker and Layover, `
    + 'or Docker runs elsewhere (a VM, another machine) where that address is not this computer';
}

function mirrorsAhead(mirrors: string[], mirror: MirrorAddress): string[] {
  const index = mirrors.findIndex((entry) => isSameMirror(entry, mirror));
  return index <= 0 ? [] : mirrors.slice(0, index);
}

/** The last check, reused while the engine, its mirrors and Layover's address stay the same and it is recent. */
export class PullCheckCache {
  private last?: { key: string; check: DockerPullCheck };

  constructor(private readonly maxAgeMs = 5 * 60_000, private readonly now: () => number = Date.now) {}

  async get(key: string, run: () => Promise<DockerPullCheck>, { fresh = false } = {}): Promise<DockerPullCheck> {
    const last = this.last;
    if (!fresh && last?.key === key && this.now() - last.check.checkedAt < this.maxAgeMs) return last.check;
    const check = await run();
    this.last = { key, check };
    return check;
  }

  forget(): void {
    this.last = undefined;
  }
}
