import type { Kysely } from 'kysely';
import type { JsonValue } from '../../platform/queue/types.js';
import type { SagaLog, SagaRun, SagaState, StepStatus } from '../../platform/saga/types.js';
import type { Database } from './schema.js';

/**
 * The saga step log in `saga_runs` / `saga_steps` (SQLite and PostgreSQL). Each write is one
 * statement that is safe to repeat: `start` inserts the run unless its id exists; a step is an
 * upsert on (run, index) that never moves a compensated step back to done.
 */
export class KyselySagaLog implements SagaLog {
  constructor(private readonly db: Kysely<Database>) {}

  async start(run: { id: string; name: string; input: JsonValue; steps: number; now: number }): Promise<'created' | 'exists'> {
    const inserted = await this.db
      .insertInto('saga_runs')
      .values({ id: run.id, name: run.name, input: JSON.stringify(run.input), state: 'running', error: null, failed_step: null, steps: run.steps, created_at: run.now, updated_at: run.now })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    return inserted ? 'created' : 'exists';
  }

  async get(id: string): Promise<SagaRun | undefined> {
    const row = await this.db.selectFrom('saga_runs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const steps = await this.db.selectFrom('saga_steps').selectAll().where('run_id', '=', id).execute();
    return toRun(row, steps);
  }

  async stepDone(id: string, index: number, output: JsonValue | null, now: number): Promise<void> {
    await this.db
      .insertInto('saga_steps')
      .values({ run_id: id, idx: index, status: 'done', output: output === null ? null : JSON.stringify(output), updated_at: now })
      .onConflict((oc) => oc.columns(['run_id', 'idx']).doNothing())
      .execute();
    await this.touch(id, now);
  }

  async stepCompensated(id: string, index: number, now: number): Promise<void> {
    await this.db
      .insertInto('saga_steps')
      .values({ run_id: id, idx: index, status: 'compensated', output: null, updated_at: now })
      .onConflict((oc) => oc.columns(['run_id', 'idx']).doUpdateSet({ status: 'compensated', updated_at: now }))
      .execute();
    await this.touch(id, now);
  }

  async setState(id: string, state: SagaState, error: string | null, now: number, failedStep?: number): Promise<void> {
    await this.db
      .updateTable('saga_runs')
      .set({ state, error, updated_at: now, ...(failedStep !== undefined ? { failed_step: failedStep } : {}) })
      .where('id', '=', id)
      .execute();
  }

  async unfinished(limit: number): Promise<SagaRun[]> {
    const rows = await this.db.selectFrom('saga_runs').selectAll().where('state', 'in', ['running', 'compensating']).orderBy('created_at').orderBy('id').limit(limit).execute();
    if (rows.length === 0) return [];
    const steps = await this.db
      .selectFrom('saga_steps')
      .selectAll()
      .where('run_id', 'in', rows.map((r) => r.id))
      .execute();
    return rows.map((r) => toRun(r, steps.filter((s) => s.run_id === r.id)));
  }

  private async touch(id: string, now: number): Promise<void> {
    await this.db.updateTable('saga_runs').set({ updated_at: now }).where('id', '=', id).execute();
  }
}

type RunRow = { id: string; name: string; input: string; state: string; error: string | null; failed_step: number | null; steps: number; created_at: number | string | bigint; updated_at: number | string | bigint };
type StepRow = { idx: number; status: string; output: string | null };

function toRun(row: RunRow, stepRows: readonly StepRow[]): SagaRun {
  const steps: SagaRun['steps'] = Array.from({ length: Number(row.steps) }, () => ({ status: 'pending' as StepStatus, output: null }));
  for (const s of stepRows) {
    const i = Number(s.idx);
    if (i >= 0 && i < steps.length) steps[i] = { status: s.status as StepStatus, output: s.output === null ? null : (JSON.parse(s.output) as JsonValue) };
  }
  return {
    id: row.id,
    name: row.name,
    input: JSON.parse(row.input) as JsonValue,
    state: row.state as SagaState,
    error: row.error,
    failedStep: row.failed_step === null ? null : Number(row.failed_step),
    steps,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
