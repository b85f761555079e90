import type { Clock } from '../platform/clock.js';
import type { OutputStream } from './runtime.js';

export interface ProgressOptions {
  /** What the work is called in the output, e.g. "importing". */
  label: string;
  /** Units of work in all (bytes of a file); percentage and ETA come from it. */
  total: number;
  clock: Clock;
  /** Least time between two redraws of a TTY bar. */
  redrawMs?: number;
  /** Time between two plain lines when the stream is not a TTY. */
  lineMs?: number;
  width?: number;
}

/**
 * A progress report on stderr: a bar redrawn in place (at most every `redrawMs`) when the
 * stream is a TTY, otherwise one plain line every `lineMs`, so logs stay readable.
 * Shows the percentage of `total`, rows per second and the estimated time left.
 */
export class Progress {
  private readonly started: number;
  private last: number;
  private drawn = false;
  private readonly tty: boolean;

  constructor(
    private readonly stream: OutputStream,
    private readonly opts: ProgressOptions,
  ) {
    this.started = opts.clock.now();
    this.tty = stream.isTTY === true;
    this.last = this.started;
  }

  /** `done` units of `total` after `rows` rows. Cheap to call for every row. */
  update(done: number, rows: number): void {
    const now = this.opts.clock.now();
    const every = this.tty ? (this.opts.redrawMs ?? 100) : (this.opts.lineMs ?? 2000);
    if (now - this.last < every) return;
    this.last = now;
    this.write(this.describe(done, rows, now));
  }

  /** Clears the bar (the caller prints a summary next). */
  finish(): void {
    if (this.tty && this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }

  describe(done: number, rows: number, now = this.opts.clock.now()): string {
    const total = Math.max(this.opts.total, 1);
    const fraction = Math.min(Math.max(done / total, 0), 1);
    const seconds = Math.max(now - this.started, 1) / 1000;
    const rate = rows / seconds;
    const eta = fraction > 0 ? (seconds * (1 - fraction)) / fraction : Number.NaN;
    const percent = `${(fraction * 100).toFixed(0).padStart(3)}%`;
    const stats = `${rows.toLocaleString('en-US')} rows  ${Math.round(rate).toLocaleString('en-US')} rows/s  ETA ${formatDuration(eta)}`;
    if (!this.tty) return `${this.opts.label}: ${percent.trim()}  ${stats}`;
    const width = this.opts.width ?? 24;
    const filled = Math.round(fraction * width);
    return `${this.opts.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent}  ${stats}`;
  }

  private write(text: string): void {
    if (this.tty) {
      this.stream.write(`\r\x1b[2K${text}`);
      this.drawn = true;
    } else this.stream.write(`${text}\n`);
  }
}

/** `m:ss` (or `h:mm:ss`); `--:--` when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
