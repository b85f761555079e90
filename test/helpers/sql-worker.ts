/**
 * Child process for cross-process contract tests: opens the database given in argv[2] (JSON
 * DatabaseLocation), waits until `startAt` so all workers begin together, runs the operation
 * `times` times and prints the results as JSON.
 */
import { KyselyIdSequence } from '../../src/adapters/sql/kysely-id-sequence.js';
import { KyselyLinkRepository } from '../../src/adapters/sql/kysely-link-repository.js';
import { connect, type DatabaseLocation } from './databases.js';

export type WorkerTask =
  | { op: 'lease'; name: string; size: number; times: number; startAt: number }
  | { op: 'consume'; linkId: number; key: string; times: number; startAt: number };

async function main(): Promise<void> {
  const location = JSON.parse(process.argv[2] ?? '') as DatabaseLocation;
  const task = JSON.parse(process.argv[3] ?? '') as WorkerTask;
  const connection = await connect(location);
  try {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, task.startAt - Date.now())));
    const results: unknown[] = [];
    const run =
      task.op === 'lease'
        ? () => new KyselyIdSequence(connection.db).lease(task.name, task.size)
        : () => new KyselyLinkRepository(connection.db, location.dialect).consumeLimitedClick({ id: task.linkId, key: task.key });
    // A few in flight at a time, so statements of this process interleave with the others'.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (results.length < task.times) {
          const slot = results.push(null) - 1;
          results[slot] = await run();
        }
      }),
    );
    process.stdout.write(JSON.stringify(results));
  } finally {
    await connection.close();
  }
}

await main();
