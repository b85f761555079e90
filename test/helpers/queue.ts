import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryQueue } from '../../src/adapters/memory/memory-queue.js';
import { migrateToLatest } from '../../src/adapters/sql/migrations.js';
import { openSqlite, type SqliteHandle } from '../../src/adapters/sqlite/open-sqlite.js';
import { SqliteQueue, type SqliteQueueOptions } from '../../src/adapters/sqlite/sqlite-queue.js';
import type { Queue } from '../../src/platform/queue/types.js';

/** A queue under test, and how to reach the same store again (another connection/process). */
export interface QueueUnderTest {
  queue: Queue;
  /** A second Queue over the same store (a new connection); undefined for memory. */
  reopen?: (options?: SqliteQueueOptions) => Promise<Queue>;
  /** The SQLite file, for child processes. */
  file?: string;
  close(): Promise<void>;
}

export interface QueueFactory {
  name: string;
  /** Supports several connections/processes on one store. */
  shared: boolean;
  open(options?: SqliteQueueOptions): Promise<QueueUnderTest>;
}

export const memoryQueueFactory: QueueFactory = {
  name: 'memory',
  shared: false,
  open(options = {}) {
    const queue = new MemoryQueue(options);
    return Promise.resolve({ queue, close: () => queue.close() });
  },
};

export const sqliteQueueFactory: QueueFactory = {
  name: 'sqlite',
  shared: true,
  async open(options = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'tny-queue-'));
    const file = join(dir, 'queue.db');
    const handles: SqliteHandle[] = [];
    const queues: Queue[] = [];
    const connect = async (opts: SqliteQueueOptions): Promise<Queue> => {
      const handle = openSqlite(file);
      handles.push(handle);
      const queue = new SqliteQueue(handle.db, handle.raw, opts);
      queues.push(queue);
      return queue;
    };
    const first = openSqlite(file);
    await migrateToLatest(first.db, 'sqlite');
    handles.push(first);
    const queue = new SqliteQueue(first.db, first.raw, options);
    queues.push(queue);
    return {
      queue,
      file,
      reopen: (opts) => connect(opts ?? options),
      async close() {
        for (const q of queues) await q.close();
        for (const h of handles) await h.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};
