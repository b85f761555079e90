import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DatabaseLocation } from './databases.js';
import type { WorkerTask } from './sql-worker.js';

const workerFile = fileURLToPath(new URL('./sql-worker.ts', import.meta.url));

/** Time for every worker to start (tsx compiles on first run) before they begin together. */
export const WORKER_START_DELAY_MS = 3_000;

/** Runs one child process per task against the same database; resolves with each one's results. */
export function runSqlWorkers<T>(location: DatabaseLocation, tasks: WorkerTask[]): Promise<T[][]> {
  return Promise.all(
    tasks.map(
      (task) =>
        new Promise<T[]>((resolve, reject) => {
          execFile(
            process.execPath,
            ['--import', 'tsx', workerFile, JSON.stringify(location), JSON.stringify(task)],
            { timeout: 60_000 },
            (error, stdout, stderr) => {
              if (error) reject(new Error(`sql worker failed: ${error.message}\n${stderr}`));
              else resolve(JSON.parse(stdout) as T[]);
            },
          );
        }),
    ),
  );
}
