/**
 * How every long-running command shows progress, in one place: bars on a
 * terminal (cli-progress, one per row), and on anything else (a pipe, a CI
 * log, `--no-ui`) plain lines, one each time a row changes state and at most
 * every few seconds while it moves, so logs stay short and readable.
 * `layover prefetch`, `layover pull` and `layover demo` each say what their
 * rows are; this draws them.
 */
import { createRequire } from 'node:module';
import type cliProgressModule from 'cli-progress';

/** cli-progress, loaded when the first bar is drawn (a `layover serve` loads this module and never draws one). */
const loadCliProgress = (): typeof cliProgressModule => createRequire(import.meta.url)('cli-progress') as typeof cliProgressModule;

export interface ProgressRow {
  /** Leftmost, before the bar: "library/app 1.1", a layer id, "Pull 2: ...". */
  label: string;
  done: number;
  /** 0 while unknown: the bar stays empty. */
  total: number;
  /** After the percentage: "12 MiB of 40 MiB | 3/7 blobs | 2.1 MiB/s | running". */
  detail: string;
}

export interface TerminalProgressOptions {
  /** Bars (a terminal) or lines. */
  live: boolean;
  /** Width of each bar in characters (default 30). */
  barSize?: number;
}

/** Plain progress lines about one row at most this often, unless its state changes. */
export const LINE_INTERVAL_MS = 2_000;

export class TerminalProgress {
  readonly live: boolean;
  private bars?: cliProgressModule.MultiBar;
  private readonly rows = new Map<string, cliProgressModule.SingleBar>();
  private readonly reported = new Map<string, { state: string; progress: number; at: number }>();

  constructor(private readonly stream: NodeJS.WritableStream, private readonly options: TerminalProgressOptions) {
    this.live = options.live;
  }

  /** Whether the stream is a terminal a person watches (bars), rather than a pipe or a log (lines). */
  static isTerminal(stream: NodeJS.WritableStream): boolean {
    return Boolean((stream as NodeJS.WriteStream).isTTY);
  }

  /** Draws or moves a row's bar; off a terminal, nothing (say what matters with line()). */
  row(id: string, row: ProgressRow): void {
    if (!this.live) return;
    if (!this.bars) {
      const cliProgress = loadCliProgress();
      this.bars = new cliProgress.MultiBar({
        stream: this.stream as NodeJS.WriteStream,
        format: '{label} {bar} {percentage}% | {detail}',
        hideCursor: true,
        barsize: this.options.barSize ?? 30,
      }, cliProgress.Presets.shades_classic);
    }
    const payload = { label: row.label, detail: row.detail };
    const total = Math.max(row.total, 1);
    let bar = this.rows.get(id);
    if (!bar) {
      bar = this.bars.create(total, Math.min(row.done, total), payload);
      this.rows.set(id, bar);
      return;
    }
    if (bar.getTotal() !== total) bar.setTotal(total);
    bar.update(Math.min(row.done, total), payload);
  }

  /** A line of text: above the bars on a terminal, as is elsewhere. */
  line(text: string): void {
    if (this.bars) this.bars.log(`${text}\n`);
    else this.stream.write(`${fitLine(text, this.live ? (this.stream as NodeJS.WriteStream).columns : undefined)}\n`);
  }

  /**
   * Whether a plain line about this row is due: its state changed, or it
   * moved (`progress`) and the last line about it is a few seconds old.
   */
  lineDue(id: string, state: string, progress = 0, now = Date.now()): boolean {
    const last = this.reported.get(id);
    const due = !last || last.state !== state || (progress !== last.progress && now - last.at >= LINE_INTERVAL_MS);
    if (due) this.reported.set(id, { state, progress, at: now });
    return due;
  }

  stop(): void {
    if (!this.bars) return;
    this.bars.update(); // flushes lines logged since the last redraw, which stop() alone would drop
    this.bars.stop();
  }
}

/** A line that wraps would throw the bars' redraw off by a line: cut it to the terminal's width. */
function fitLine(text: string, columns: number | undefined): string {
  return columns && text.length >= columns ? `${text.slice(0, columns - 2)}…` : text;
}
