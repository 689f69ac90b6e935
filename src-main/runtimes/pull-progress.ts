import cliProgress from 'cli-progress';
import type { PullProgress } from './pull.js';

/**
 * How `layover pull` shows Docker's progress: one bar per layer on a
 * terminal, and on anything else (a CI log, a pipe) one plain line each time
 * a layer changes state, so logs stay short and readable.
 */
export interface PullProgressDisplay {
  update(progress: PullProgress): void;
  stop(): void;
}

export function createPullProgressDisplay(stream: NodeJS.WriteStream): PullProgressDisplay {
  return stream.isTTY ? barDisplay(stream) : lineDisplay(stream);
}

function lineDisplay(stream: NodeJS.WritableStream): PullProgressDisplay {
  const lastStatus = new Map<string, string>();
  return {
    update({ id, status }) {
      const key = id ?? '';
      if (status === '' || lastStatus.get(key) === status) return;
      lastStatus.set(key, status);
      stream.write(id === undefined ? `${status}\n` : `${id}: ${status}\n`);
    },
    stop() {},
  };
}

function barDisplay(stream: NodeJS.WriteStream): PullProgressDisplay {
  const bars = new cliProgress.MultiBar({
    stream,
    format: '{layer} {bar} {percentage}% {status}',
    hideCursor: true,
    barsize: 30,
    autopadding: true,
  }, cliProgress.Presets.shades_classic);
  const layers = new Map<string, cliProgress.SingleBar>();
  return {
    update({ id, status, current, total }) {
      // Docker names layers by 12 hex digits; its other lines ("7: Pulling from ...", "Digest: ...") are messages.
      if (id === undefined || !/^[a-f0-9]{12}$/.test(id)) {
        if (status !== '') bars.log(`${id === undefined ? '' : `${id}: `}${status}\n`);
        return;
      }
      let bar = layers.get(id);
      if (bar === undefined) {
        bar = bars.create(1, 0, { layer: id, status });
        layers.set(id, bar);
      }
      if (total !== undefined && total > 0) bar.setTotal(total);
      const done = /complete|already exists/i.test(status);
      bar.update(done ? bar.getTotal() : current ?? bar.getProgress() * bar.getTotal(), { layer: id, status });
    },
    stop() {
      bars.update(); // flushes lines logged since the last redraw, which stop() alone would drop
      bars.stop();
    },
  };
}
