/**
 * Child process for the queue's cross-process contract test: opens the SQLite queue file in
 * argv[2], waits until argv[4] (epoch ms) so all processes start together, then leases
 * batches from queue argv[3] without acking (a long visibility) until it gets none, and prints
 * the leased job ids as JSON.
 */
import { openSqlite } from '../../src/adapters/sqlite/open-sqlite.js';
import { SqliteQueue } from '../../src/adapters/sqlite/sqlite-queue.js';

const [file, name, startAt] = process.argv.slice(2) as [string, string, string];
const handle = openSqlite(file);
const queue = new SqliteQueue(handle.db, handle.raw);
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
const ids: string[] = [];
for (;;) {
  const jobs = await queue.lease(name, { max: 3, visibilityMs: 600_000 });
  if (jobs.length === 0) break;
  ids.push(...jobs.map((j) => j.id));
  // Let other processes in between our transactions.
  await new Promise((resolve) => setImmediate(resolve));
}
await queue.close();
await handle.close();
process.stdout.write(JSON.stringify(ids));
