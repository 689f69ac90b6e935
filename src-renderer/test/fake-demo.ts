/**
 * The demo in the fake API: DemoStatus values shaped like the real
 * service's (src-main/demo/demo-scenario.ts), and a run that moves forward
 * when the preview server's clock ticks (`advanceDemo`).
 */
import type { DemoLink, DemoPull, DemoPullKind, DemoRequest, DemoResult, DemoStatus } from '../../src-main/api/types.js';

const MiB = 1024 * 1024;
const MBIT = 125_000;

/** The real service's profiles (src-main/demo/link-shaper.ts LINK_PROFILES), as the API shows them. */
export const FAKE_PROFILES: DemoLink[] = [
  { id: 'asia-us-dtr', label: 'Asia office → US DTR', description: '20 Mbit/s, 180 ms', downBytesPerSecond: 20 * MBIT, latencyMs: 180 },
  { id: 'eu-us-dtr', label: 'EU office → US DTR', description: '50 Mbit/s, 80 ms', downBytesPerSecond: 50 * MBIT, latencyMs: 80 },
  { id: 'branch-office', label: 'Branch office → regional DTR cache', description: '100 Mbit/s, 50 ms', downBytesPerSecond: 100 * MBIT, latencyMs: 50 },
  { id: 'satellite', label: 'Remote site over satellite', description: '10 Mbit/s, 300 ms', downBytesPerSecond: 10 * MBIT, latencyMs: 300 },
  { id: 'lan', label: 'Same building (LAN)', description: '1000 Mbit/s, 0.5 ms', downBytesPerSecond: 1000 * MBIT, latencyMs: 0.5 },
];

const PULLS: Array<Pick<DemoPull, 'kind' | 'label' | 'route'>> = [
  { kind: 'direct', label: 'Straight over the office link', route: 'client → office link → origin' },
  { kind: 'cold', label: 'Through Layover, cold', route: 'client → Layover → office link → origin' },
  { kind: 'warm', label: 'Through Layover, warm', route: 'client → Layover (cache)' },
];

const IMAGE_BYTES = 40 * MiB + 2_251;

function pulls(bytesTotal: number): DemoPull[] {
  return PULLS.map((pull) => ({ ...pull, state: 'waiting', bytesDone: 0, bytesTotal, seconds: 0, linkBytes: 0 }));
}

export function idleDemo(): DemoStatus {
  return { state: 'idle', simulation: true, step: 'Ready to run', link: FAKE_PROFILES[0]!, pulls: pulls(0), profiles: FAKE_PROFILES, defaultSizeBytes: 40 * MiB };
}

/** A run as startDemo begins it. */
export function startedDemo(request: DemoRequest, now: number): DemoStatus {
  const link = FAKE_PROFILES.find((p) => p.id === (request.link ?? 'asia-us-dtr')) ?? { label: 'Custom link', description: request.link ?? '', downBytesPerSecond: 20 * MBIT, latencyMs: 100 };
  const bytes = request.sizeBytes ?? IMAGE_BYTES;
  return {
    ...idleDemo(), state: 'preparing', step: 'Generating the sample images', link, startedAt: now,
    image: { reference: 'demo/app:1.0', bytes, layers: 5 }, client: 'docker', pulls: pulls(bytes),
  };
}

/** The demo halfway through the cold pull: the screenshot's "live" moment. */
export function runningDemo(now: number): DemoStatus {
  const demo = startedDemo({}, now - 24_000);
  demo.state = 'running';
  demo.step = 'Pull 2 of 3: through Layover, cold';
  const [direct, cold] = demo.pulls as [DemoPull, DemoPull, DemoPull];
  Object.assign(direct, { state: 'done', bytesDone: IMAGE_BYTES, seconds: 18.3, linkBytes: IMAGE_BYTES + 2_809 });
  Object.assign(cold, { state: 'running', bytesDone: 17.5 * MiB, seconds: 7.9, linkBytes: 17.5 * MiB + 1_020 });
  return demo;
}

/** A finished run, with Docker, on the default link. */
export function finishedDemo(now: number): DemoStatus {
  const demo = startedDemo({}, now - 40_000);
  const seconds: Record<DemoPullKind, number> = { direct: 18.252, cold: 18.41, warm: 0.74 };
  const linkBytes: Record<DemoPullKind, number> = { direct: IMAGE_BYTES + 2_809, cold: IMAGE_BYTES + 2_470, warm: 0 };
  for (const pull of demo.pulls) Object.assign(pull, { state: 'done', bytesDone: IMAGE_BYTES, seconds: seconds[pull.kind], linkBytes: linkBytes[pull.kind] });
  const result: DemoResult = {
    simulation: true, image: 'demo/app:1.0', bytes: IMAGE_BYTES, layers: 5, client: 'docker', link: demo.link,
    directSeconds: seconds.direct, coldSeconds: seconds.cold, cachedSeconds: seconds.warm, linkBytes, speedup: 24.7,
    summary: 'warm pull 25× faster; 0 bytes over the office link',
  };
  return { ...demo, state: 'done', step: 'Done; everything the demo started is stopped and removed', result, finishedAt: now - 1_000 };
}

/** Moves a run on by `seconds`: a pull over the link at the link's rate, the warm one at once. Returns whether anything changed. */
export function advanceDemo(demo: DemoStatus, seconds: number): boolean {
  if (demo.state === 'preparing') {
    demo.state = 'running';
    demo.pulls[0]!.state = 'running';
    demo.step = 'Pull 1 of 3: straight over the office link';
    return true;
  }
  const index = demo.pulls.findIndex((pull) => pull.state === 'running');
  const pull = demo.pulls[index];
  if (demo.state !== 'running' || !pull) return false;
  const rate = pull.kind === 'warm' ? pull.bytesTotal : demo.link.downBytesPerSecond;
  pull.bytesDone = Math.min(pull.bytesTotal, pull.bytesDone + rate * seconds);
  pull.seconds += pull.kind === 'warm' ? 0.74 : seconds;
  if (pull.kind !== 'warm') pull.linkBytes = pull.bytesDone;
  if (pull.bytesDone < pull.bytesTotal) return true;
  pull.state = 'done';
  const next = demo.pulls[index + 1];
  if (next) {
    next.state = 'running';
    demo.step = `Pull ${index + 2} of 3: ${next.label[0]!.toLowerCase()}${next.label.slice(1)}`;
  } else {
    finish(demo);
  }
  return true;
}

function finish(demo: DemoStatus): void {
  const [direct, cold, warm] = demo.pulls as [DemoPull, DemoPull, DemoPull];
  const speedup = Math.round((direct.seconds / warm.seconds) * 10) / 10;
  demo.result = {
    simulation: true, image: demo.image!.reference, bytes: demo.image!.bytes, layers: demo.image!.layers, client: demo.client ?? 'docker', link: demo.link,
    directSeconds: direct.seconds, coldSeconds: cold.seconds, cachedSeconds: warm.seconds,
    linkBytes: { direct: direct.linkBytes, cold: cold.linkBytes, warm: 0 }, speedup,
    summary: `warm pull ${Math.round(speedup)}× faster; 0 bytes over the office link`,
  };
  Object.assign(demo, { state: 'done', step: 'Done; everything the demo started is stopped and removed', finishedAt: Date.now() });
}

/** What cancelDemo leaves; a demo that is not running stays as it is. */
export function cancelDemo(demo: DemoStatus): void {
  if (demo.state !== 'preparing' && demo.state !== 'running') return;
  for (const pull of demo.pulls) if (pull.state === 'waiting' || pull.state === 'running') pull.state = 'cancelled';
  Object.assign(demo, { state: 'cancelled', step: 'Cancelled; everything the demo started is stopped', finishedAt: Date.now() });
}
