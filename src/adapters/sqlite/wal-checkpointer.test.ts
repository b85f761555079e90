import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqlite, type SqliteHandle } from './open-sqlite.js';
import { INLINE_AUTOCHECKPOINT_PAGES, WalCheckpointer } from './wal-checkpointer.js';

const PAGE = 4096;

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('WalCheckpointer (real SQLite, a real worker thread)', () => {
  let dir: string;
  let handle: SqliteHandle;
  let file: string;
  let checkpointer: WalCheckpointer | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tny-wal-'));
    file = join(dir, 'tny.db');
    handle = openSqlite(file);
    handle.raw.exec('create table t (id integer primary key, body text not null)');
  });
  afterEach(async () => {
    await checkpointer?.close();
    checkpointer = undefined;
    await handle.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Commits `pages` worth of rows, one transaction per ~8 pages, as a busy server would. */
  function write(pages: number): void {
    const insert = handle.raw.prepare('insert into t (body) values (?)');
    const body = 'x'.repeat(PAGE - 200);
    const tx = handle.raw.transaction((n: number) => {
      for (let i = 0; i < n; i++) insert.run(body);
    });
    for (let done = 0; done < pages; done += 8) tx(8);
  }

  const walFrames = () => {
    // A PASSIVE checkpoint from a throwaway read of the log's state would copy pages: read the
    // file size instead (frames are page + 24 bytes, after a 32-byte header).
    const size = statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0;
    return Math.max(0, Math.floor((size - 32) / (PAGE + 24)));
  };

  it('starts the worker once the WAL passes startBytes, and it copies every frame into the database', async () => {
    checkpointer = new WalCheckpointer({ file, startBytes: 1024 * 1024, intervalMs: 50 }).start();
    write(100);
    await new Promise((r) => setTimeout(r, 200));
    expect(checkpointer.snapshot().state).toBe('idle'); // under 1 MB of log: no thread yet
    write(600);
    await until(() => checkpointer!.snapshot().runs > 0 && checkpointer!.snapshot().framesBehind === 0);
    expect(checkpointer.snapshot().state).toBe('running');
    // The pages are in the database file itself (without a checkpoint it stays a few pages long).
    expect(statSync(file).size).toBeGreaterThanOrEqual(700 * PAGE);
    expect((handle.raw.prepare('select count(*) as n from t').get() as { n: number }).n).toBe(704);
  });

  it('keeps up while the serving connection writes in bursts, so the log restarts instead of growing', async () => {
    checkpointer = new WalCheckpointer({ file, startBytes: 256 * 1024, intervalMs: 20 }).start();
    for (let round = 0; round < 40; round++) {
      write(200);
      await new Promise((r) => setTimeout(r, 30));
    }
    // 8,000 pages were written in bursts below the serving connection's own threshold: the
    // worker copied them and the log restarted (the margin is for a loaded machine).
    expect(checkpointer.snapshot().runs).toBeGreaterThan(5);
    expect(walFrames()).toBeLessThan(INLINE_AUTOCHECKPOINT_PAGES);
  });

  it('keeps the log bounded under writes that never pause (the serving connection is the backstop)', async () => {
    checkpointer = new WalCheckpointer({ file, startBytes: 256 * 1024, intervalMs: 5 }).start();
    // Let the worker start, then write 24,000 pages without yielding once: a checkpoint in
    // another thread never catches such a writer, so only the backstop restarts the log.
    write(100);
    await until(() => checkpointer!.snapshot().state === 'running' || walFrames() > 0);
    write(24_000);
    expect(walFrames()).toBeLessThan(INLINE_AUTOCHECKPOINT_PAGES * 2);
  });

  it('reports a worker that dies and stops using it; the serving connection checkpoints alone', async () => {
    const failures: unknown[] = [];
    checkpointer = new WalCheckpointer({ file, startBytes: 1, intervalMs: 20, onFallback: (err) => failures.push(err) }).start();
    write(16);
    await until(() => checkpointer!.snapshot().state === 'running');
    await (checkpointer as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await until(() => checkpointer!.snapshot().state === 'fallback');
    expect(failures).toHaveLength(1);
    expect(String(failures[0])).toMatch(/exited/);
    expect(handle.raw.pragma('wal_autocheckpoint', { simple: true })).toBe(INLINE_AUTOCHECKPOINT_PAGES);
    write(INLINE_AUTOCHECKPOINT_PAGES + 2000);
    expect(walFrames()).toBeLessThan(INLINE_AUTOCHECKPOINT_PAGES * 2);
  });
});
