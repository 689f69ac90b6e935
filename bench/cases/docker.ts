/**
 * Case 6, the real client: `docker pull` of a multi-layer image through each
 * cache, by pointing an isolated dockerd's registry-mirrors at it (Docker
 * only mirrors Docker Hub images, hence library/...). Cold: nothing cached;
 * warm: the same pull again after `docker rmi`. The "direct" reference
 * mirrors straight to the upstream over the link.
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { DOCKER_CLI, DOCKERD_BINARY, startDockerd, type TestDockerd } from '../../test/support/dockerd.js';
import { overTheLink, type BenchContext } from '../context.js';
import type { BenchImage } from '../images.js';
import { rotate } from '../stats.js';
import type { ColdTarget } from './cold.js';

export interface DockerSample {
  coldMs: number;
  /** The same pull again after rmi: served from the cache (not measured for direct). */
  warmMs?: number;
  linkBytes: number;
}

export interface DockerResult {
  imageBytes: number;
  samples: Partial<Record<ColdTarget, DockerSample[]>>;
}

/** Why case 6 cannot run here, or undefined when it can. */
export function dockerUnavailable(): string | undefined {
  if (!existsSync(DOCKERD_BINARY) || !existsSync(DOCKER_CLI)) return `${DOCKERD_BINARY} or ${DOCKER_CLI} is not installed`;
  if (process.getuid?.() !== 0) return 'dockerd needs root';
  return undefined;
}

export async function runDocker(ctx: BenchContext): Promise<DockerResult> {
  const dockerd = await startDockerd({ daemonConfig: { 'registry-mirrors': [], 'max-concurrent-downloads': 3 } });
  try {
    const targets: Record<ColdTarget, string> = { direct: ctx.shaper.url, layover: ctx.layover.url, distribution: ctx.peer.url };
    const samples: DockerResult['samples'] = {};
    for (const [round, image] of ctx.images.docker.entries()) {
      for (const target of rotate(['layover', 'distribution', 'direct'] as const, round)) {
        await dockerd.writeConfig({ 'registry-mirrors': [targets[target]], 'max-concurrent-downloads': 3 });
        await dockerd.reload();
        const sample = await pullTwice(ctx, dockerd, image, target !== 'direct');
        (samples[target] ??= []).push(sample);
        ctx.log(`docker round ${round + 1}: ${target}: cold ${(sample.coldMs / 1000).toFixed(2)} s` +
          `${sample.warmMs === undefined ? '' : `, warm ${(sample.warmMs / 1000).toFixed(2)} s`}, ${(sample.linkBytes / 1e6).toFixed(1)} MB over the link`);
      }
    }
    return { imageBytes: ctx.images.docker[0]!.totalBytes, samples };
  } finally {
    await dockerd.stop();
  }
}

async function pullTwice(ctx: BenchContext, dockerd: TestDockerd, image: BenchImage, warmToo: boolean): Promise<DockerSample> {
  const name = `${image.repository.replace(/^library\//, '')}:${image.tag}`;
  const cold = await overTheLink(ctx, () => timedPull(dockerd, name));
  await dockerd.dockerChecked(['rmi', name]);
  if (!warmToo) return { coldMs: cold.result, linkBytes: cold.linkBytes };
  const warmMs = await timedPull(dockerd, name);
  await dockerd.dockerChecked(['rmi', name]);
  return { coldMs: cold.result, warmMs, linkBytes: cold.linkBytes };
}

async function timedPull(dockerd: TestDockerd, name: string): Promise<number> {
  const started = performance.now();
  await dockerd.dockerChecked(['pull', '--quiet', name], { timeoutMs: 600_000 });
  return performance.now() - started;
}
