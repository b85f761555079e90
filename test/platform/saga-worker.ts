/**
 * Child process for the saga crash test: resumes unfinished runs on the SQLite file, then runs
 * (or continues) run `runId` of a 4-step saga. Each step writes its effect (idempotent: insert
 * or ignore), logs the call, prints `effect <i>` and lingers 40 ms before returning, so a
 * SIGKILL on that line lands between the effect and the step's record in the log.
 * argv: <sqlite file> <runId> <ok|fail>
 */
import { KyselySagaLog } from '../../src/adapters/sql/kysely-saga-log.js';
import { openSqlite } from '../../src/adapters/sqlite/open-sqlite.js';
import { systemClock } from '../../src/platform/clock.js';
import { PermanentError } from '../../src/platform/resilience/errors.js';
import { SagaRunner } from '../../src/platform/saga/runner.js';

const [file, runId, mode] = process.argv.slice(2) as [string, string, 'ok' | 'fail'];
const { raw, db } = openSqlite(file);
const linger = () => new Promise((r) => setTimeout(r, 40));
const steps = [0, 1, 2, 3].map((i) => ({
  name: `step${i}`,
  async run(input: { mode: string }, ctx: { runId: string }) {
    raw.prepare('INSERT INTO saga_calls (run_id, step, what) VALUES (?, ?, ?)').run(ctx.runId, i, 'run');
    raw.prepare('INSERT OR IGNORE INTO saga_effects (run_id, step) VALUES (?, ?)').run(ctx.runId, i);
    process.stdout.write(`effect ${i}\n`);
    await linger();
    if (input.mode === 'fail' && i === 2) throw new PermanentError('step 2 refuses');
    return i;
  },
  async compensate(_input: { mode: string }, _output: unknown, ctx: { runId: string }) {
    raw.prepare('INSERT INTO saga_calls (run_id, step, what) VALUES (?, ?, ?)').run(ctx.runId, i, 'undo');
    raw.prepare('DELETE FROM saga_effects WHERE run_id = ? AND step = ?').run(ctx.runId, i);
    process.stdout.write(`undo ${i}\n`);
    await linger();
  },
}));
const runner = new SagaRunner({ log: new KyselySagaLog(db), clock: systemClock });
runner.define({ name: 'four', steps });
await runner.resume();
const run = await runner.run('four', runId, { mode });
process.stdout.write(`finished ${run.state}\n`);
await db.destroy();
