import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** The serving connection's own checkpoint threshold (pages), ~16 MB: alone, or as the background checkpointer's backstop. */
export const INLINE_AUTOCHECKPOINT_PAGES = 4000;

export interface WalCheckpointerOptions {
  /** The database file (its WAL is `${file}-wal`). */
  file: string;
  /** How often the worker checkpoints (and, before it starts, how often the WAL size is looked at); 250 ms. */
  intervalMs?: number;
  /** WAL size that starts the worker: a database that never grows a WAL this big never costs a thread. */
  startBytes?: number;
  /** The worker failed or exited: the serving connection checkpoints alone again. */
  onFallback?: (err: unknown) => void;
}

export interface CheckpointStats {
  /** Checkpoints the worker ran. */
  runs: number;
  /** WAL frames not yet copied into the database after the last run. */
  framesBehind: number;
  state: 'idle' | 'running' | 'fallback' | 'closed';
}

// Runs in the worker thread: its own connection, PASSIVE checkpoints (never waits for the
// writer, never blocks it), a result message after each.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 0');
const tick = () => {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ log: r.log, checkpointed: r.checkpointed });
  } catch (err) {
    // SQLITE_BUSY: another process is checkpointing; the next tick tries again.
    if (err && err.code === 'SQLITE_BUSY') return;
    throw err;
  }
};
tick();
const timer = setInterval(tick, workerData.intervalMs);
parentPort.on('message', (m) => { if (m === 'stop') { clearInterval(timer); db.close(); parentPort.close(); } });
`;

/**
 * Moves the work of SQLite's WAL checkpoints off the serving thread. A checkpoint copies the
 * log's pages into the database file and syncs it: tens of milliseconds to a second on a slow
 * disk, and with `wal_autocheckpoint` it runs inside whichever commit crossed the threshold,
 * stalling every request behind it (ADR 12). Here a worker thread with its own connection runs
 * PASSIVE checkpoints every `intervalMs`, starting once the WAL passes `startBytes`.
 *
 * The serving connection keeps its own automatic checkpoint as a backstop. The log restarts
 * from its beginning only when a write finds every frame copied; a checkpoint in another thread
 * never quite catches a writer that never pauses, so without the backstop the log would grow
 * for as long as the writes go on. With it, such a writer checkpoints at ~16 MB, but finds
 * all but the last `intervalMs` of frames already copied. If the worker fails, the serving
 * connection simply checkpoints alone again.
 */
export class WalCheckpointer {
  private worker: Worker | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly stats: CheckpointStats = { runs: 0, framesBehind: 0, state: 'idle' };
  private readonly intervalMs: number;
  private readonly startBytes: number;

  constructor(private readonly options: WalCheckpointerOptions) {
    this.intervalMs = options.intervalMs ?? 250;
    this.startBytes = options.startBytes ?? 4 * 1024 * 1024;
  }

  /** Starts watching the WAL. */
  start(): this {
    this.timer = setInterval(() => this.watch(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  snapshot(): CheckpointStats {
    return { ...this.stats };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    const worker = this.worker;
    this.worker = undefined;
    this.stats.state = 'closed';
    if (worker) {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage('stop');
      // A checkpoint in progress finishes first; one that hangs does not hold up shutdown.
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, 5000).unref());
      await Promise.race([exited, timeout]);
      await worker.terminate();
    }
  }

  private watch(): void {
    if (this.worker || this.stats.state !== 'idle') return;
    const size = statSync(`${this.options.file}-wal`, { throwIfNoEntry: false })?.size ?? 0;
    if (size < this.startBytes) return;
    if (this.timer) clearInterval(this.timer);
    this.spawn();
  }

  private spawn(): void {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { driver, file: this.options.file, intervalMs: this.intervalMs },
    });
    worker.unref();
    this.worker = worker;
    this.stats.state = 'running';
    worker.on('message', (m: { log: number; checkpointed: number }) => {
      this.stats.runs++;
      this.stats.framesBehind = Math.max(0, m.log - m.checkpointed);
    });
    worker.on('error', (err) => this.fallBack(err));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.fallBack(new Error(`the WAL checkpoint worker exited with code ${code}`));
    });
  }

  private fallBack(err: unknown): void {
    if (this.stats.state === 'closed' || this.stats.state === 'fallback') return;
    this.stats.state = 'fallback';
    const worker = this.worker;
    this.worker = undefined;
    void worker?.terminate();
    this.options.onFallback?.(err);
  }
}
