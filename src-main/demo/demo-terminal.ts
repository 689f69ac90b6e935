/**
 * How `layover demo` shows a run in a terminal: three live bars on a
 * terminal, plain lines elsewhere (a pipe, a CI log, `--no-ui`), and the
 * measurements as a small table at the end. Fed DemoStatus snapshots, so it
 * shows a run in this process and one in the running Layover alike.
 */
import cliProgress from 'cli-progress';
import type { DemoPull, DemoResult, DemoStatus } from '../api/types.js';
import { formatBytes } from '../api/format.js';

export interface DemoDisplay {
  update(status: DemoStatus): void;
  stop(): void;
}

/** Plain progress lines at most this often per pull, so logs stay short. */
const LINE_INTERVAL_MS = 2_000;

export function createDemoDisplay(stream: NodeJS.WritableStream, live: boolean): DemoDisplay {
  return live ? barDisplay(stream as NodeJS.WriteStream) : lineDisplay(stream);
}

/** "18.3 s", and "40 ms" for the warm pull's fraction of a second. */
const seconds = (value: number) => (value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(1)} s`);
const pullName = (pull: DemoPull, index: number) => `Pull ${index + 1}: ${pull.label}`;

function lineDisplay(stream: NodeJS.WritableStream): DemoDisplay {
  let lastStep = '';
  const lastLineAt = new Map<string, number>();
  const lastState = new Map<string, string>();
  return {
    update(status) {
      if (status.step !== lastStep) {
        lastStep = status.step;
        stream.write(`${status.step}\n`);
      }
      status.pulls.forEach((pull, index) => {
        const changed = lastState.get(pull.kind) !== pull.state;
        lastState.set(pull.kind, pull.state);
        const now = Date.now();
        if (pull.state === 'done' && changed) stream.write(`  ${pullName(pull, index)}: done in ${seconds(pull.seconds)}, ${formatBytes(pull.linkBytes)} over the office link\n`);
        if (pull.state !== 'running' || now - (lastLineAt.get(pull.kind) ?? 0) < LINE_INTERVAL_MS) return;
        lastLineAt.set(pull.kind, now);
        stream.write(`  ${pullName(pull, index)}: ${formatBytes(pull.bytesDone)} of ${formatBytes(pull.bytesTotal)}, ${seconds(pull.seconds)}, ${formatBytes(pull.linkBytes)} over the office link\n`);
      });
    },
    stop() {},
  };
}

/**
 * Plain step lines until the first pull starts, then three bars and nothing
 * else: a line logged among cli-progress bars throws their redraw off.
 */
function barDisplay(stream: NodeJS.WriteStream): DemoDisplay {
  let bars: cliProgress.MultiBar | undefined;
  const created = new Map<string, cliProgress.SingleBar>();
  let lastStep = '';
  return {
    update(status) {
      const pulling = status.pulls.some((pull) => pull.state !== 'waiting');
      if (!pulling) {
        if (status.step !== lastStep) stream.write(`${fitLine(status.step, stream.columns)}\n`);
        lastStep = status.step;
        return;
      }
      bars ??= new cliProgress.MultiBar({
        stream,
        format: '{name} {bar} {percentage}% | {done} of {size} | {elapsed} | {link} over the link',
        hideCursor: true,
        barsize: 20,
      }, cliProgress.Presets.shades_classic);
      status.pulls.forEach((pull, index) => {
        const payload = { name: pullName(pull, index).padEnd(40), done: formatBytes(pull.bytesDone), size: formatBytes(pull.bytesTotal), elapsed: seconds(pull.seconds), link: formatBytes(pull.linkBytes) };
        let bar = created.get(pull.kind);
        if (!bar) {
          bar = bars!.create(Math.max(pull.bytesTotal, 1), pull.bytesDone, payload);
          created.set(pull.kind, bar);
        }
        bar.update(pull.bytesDone, payload);
      });
    },
    stop() {
      bars?.stop();
    },
  };
}

/** A line that wraps would throw the bars' redraw off by a line: cut it to the terminal's width. */
function fitLine(text: string, columns: number | undefined): string {
  return columns && text.length >= columns ? `${text.slice(0, columns - 2)}…` : text;
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
