/**
 * Child process for queue-pickup.test.ts: opens the SQLite queue file in argv[2], enqueues
 * argv[4] jobs into queue argv[3], one every 30–70 ms, and prints one JSON line per job after
 * its enqueue committed: {"i": n, "at": epoch ms}.
 */
import { openSqlite } from '../../src/adapters/sqlite/open-sqlite.js';
import { SqliteQueue } from '../../src/adapters/sqlite/sqlite-queue.js';

const [file, name, count] = process.argv.slice(2) as [string, string, string];
const handle = openSqlite(file);
const queue = new SqliteQueue(handle.db, handle.raw);
for (let i = 0; i < Number(count); i++) {
  await new Promise((resolve) => setTimeout(resolve, 30 + Math.random() * 40));
  await queue.enqueue(name, i);
  process.stdout.write(`${JSON.stringify({ i, at: performance.timeOrigin + performance.now() })}\n`);
}
await queue.close();
await handle.close();
