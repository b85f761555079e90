import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { BullmqQueue } from '../../src/adapters/bullmq/bullmq-queue.js';
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
  /** The SQLite file. */
  file?: string;
  /** Node arguments (after `--import tsx`) of a child that leases queue `name` from this store from `startAt`, printing the ids (test/helpers/*queue-worker.ts). */
  childArgs?: (name: string, startAt: number) => string[];
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
      childArgs: (name, startAt) => [fileURLToPath(new URL('./queue-worker.ts', import.meta.url)), file, name, String(startAt)],
      reopen: (opts) => connect(opts ?? options),
      async close() {
        for (const q of queues) await q.close();
        for (const h of handles) await h.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

/**
 * BullMQ on the Redis at `url`: every open() gets its own key prefix (so each test has its own
 * queues), and close() deletes every key under it. reopen() is a second client and adapter on
 * the same prefix (another "process").
 */
export function bullmqQueueFactory(url: string): QueueFactory {
  return {
    name: 'bullmq',
    shared: true,
    async open(options = {}) {
      const prefix = `tnytest-${randomBytes(6).toString('hex')}`;
      const clients: Redis[] = [];
      const queues: Queue[] = [];
      const connect = (opts: SqliteQueueOptions): Queue => {
        const redis = new Redis(url, { maxRetriesPerRequest: null });
        clients.push(redis);
        const queue = new BullmqQueue(redis, { ...opts, prefix });
        queues.push(queue);
        return queue;
      };
      const queue = connect(options);
      return {
        queue,
        childArgs: (name, startAt) => [fileURLToPath(new URL('./bullmq-queue-worker.ts', import.meta.url)), url, prefix, name, String(startAt)],
        reopen: (opts) => Promise.resolve(connect(opts ?? options)),
        async close() {
          for (const q of queues) await q.close();
          const redis = clients[0] as Redis;
          let cursor = '0';
          do {
            const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
            if (keys.length > 0) await redis.del(...keys);
            cursor = next;
          } while (cursor !== '0');
          for (const c of clients) await c.quit().catch(() => c.disconnect());
        },
      };
    },
  };
}
