/**
 * How `layover demo` shows a run in a terminal: three live bars on a
 * terminal, plain lines elsewhere (a pipe, a CI log, `--no-ui`), and the
 * measurements as a small table at the end. Fed DemoStatus snapshots, so it
 * shows a run in this process and one in the running Layover alike.
 */
import type { DemoPull, DemoResult, DemoStatus } from '../api/types.js';
import { formatBytes } from '../api/format.js';
import { TerminalProgress } from './terminal-progress.js';

export interface DemoDisplay {
  update(status: DemoStatus): void;
  stop(): void;
}

/** "18.3 s", and "40 ms" for the warm pull's fraction of a second. */
const seconds = (value: number) => (value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(1)} s`);
const pullName = (pull: DemoPull, index: number) => `Pull ${index + 1}: ${pull.label}`;

/**
 * Live: plain step lines until the first pull starts, then three bars and
 * nothing else (a line logged among the bars throws their redraw off).
 * Otherwise: each step, each pull's end, and a pull's progress every few seconds.
 */
export function createDemoDisplay(stream: NodeJS.WritableStream, live: boolean): DemoDisplay {
  const progress = new TerminalProgress(stream, { live, barSize: 20 });
  let lastStep = '';
  return {
    update(status) {
      const pulling = status.pulls.some((pull) => pull.state !== 'waiting');
      if (status.step !== lastStep && !(live && pulling)) progress.line(status.step);
      lastStep = status.step;
      status.pulls.forEach((pull, index) => {
        const name = pullName(pull, index);
        if (live) {
          if (!pulling) return;
          const detail = `${formatBytes(pull.bytesDone)} of ${formatBytes(pull.bytesTotal)} | ${seconds(pull.seconds)} | ${formatBytes(pull.linkBytes)} over the link`;
          progress.row(pull.kind, { label: name.padEnd(40), done: pull.bytesDone, total: pull.bytesTotal, detail });
        } else if ((pull.state === 'running' || pull.state === 'done') && progress.lineDue(pull.kind, pull.state, pull.bytesDone)) {
          progress.line(pull.state === 'done'
            ? `  ${name}: done in ${seconds(pull.seconds)}, ${formatBytes(pull.linkBytes)} over the office link`
            : `  ${name}: ${formatBytes(pull.bytesDone)} of ${formatBytes(pull.bytesTotal)}, ${seconds(pull.seconds)}, ${formatBytes(pull.linkBytes)} over the office link`);
        }
      });
    },
    stop: () => progress.stop(),
  };
}

/** The measurements, a pull a line, then the summary. */
export function formatDemoResult(result: DemoResult): string {
  const rows: Array<[string, number, number]> = [
    ['Pull 1: straight over the office link', result.directSeconds, result.linkBytes.direct],
    ['Pull 2: through Layover, cold', result.coldSeconds, result.linkBytes.cold],
    ['Pull 3: through Layover, warm', result.cachedSeconds, result.linkBytes.warm],
  ];
  const client = result.client === 'docker' ? 'docker pull' : "Layover's verifying client";
  return [
    `Simulation on this machine: ${result.image} of ${formatBytes(result.bytes)} over ${result.link.label}, ${result.link.description}; pulled with ${client}`,
    ...rows.map(([name, time, link]) => `  ${name.padEnd(40)} ${seconds(time).padStart(8)}   ${formatBytes(link).padStart(10)} over the office link`),
    result.summary,
  ].join('\n');
}
