import { afterAll, beforeAll, expect, it } from 'vitest';
import { KyselySagaLog } from '../../src/adapters/sql/kysely-saga-log.js';
import { FakeClock } from '../../src/platform/clock.js';
import { PermanentError } from '../../src/platform/resilience/errors.js';
import { SagaRunner } from '../../src/platform/saga/runner.js';
import { describeEachDatabase, type TestDatabase } from '../helpers/databases.js';

/** The durable saga step log on each engine, and the runner over it. */
describeEachDatabase('saga log contract', (factory) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await factory.open();
  });
  afterAll(() => database.close());
  const log = () => new KyselySagaLog(database.db);

  it('start is first-writer-wins on the run id; a run reads back with its steps pending', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => log().start({ id: 'run-a', name: 'import', input: { rows: 3, tag: 'x' }, steps: 3, now: 10 })));
    expect(results.filter((r) => r === 'created')).toHaveLength(1);
    expect(await log().get('run-a')).toEqual({
      id: 'run-a',
      name: 'import',
      input: { rows: 3, tag: 'x' },
      state: 'running',
      error: null,
      failedStep: null,
      steps: [
        { status: 'pending', output: null },
        { status: 'pending', output: null },
        { status: 'pending', output: null },
      ],
      createdAt: 10,
      updatedAt: 10,
    });
    expect(await log().get('nope')).toBeUndefined();
  });

  it('records steps idempotently, never moves a compensated step back, keeps the failed step through later states', async () => {
    const l = log();
    await l.start({ id: 'run-b', name: 'import', input: null, steps: 3, now: 1 });
    await l.stepDone('run-b', 0, { shard: 's1', ids: [1, 2] }, 2);
    await l.stepDone('run-b', 0, { other: true }, 3); // a repeat keeps the first record
    await l.stepDone('run-b', 1, null, 4);
    await l.setState('run-b', 'compensating', 'c: PermanentError: no', 5, 2);
    await l.stepCompensated('run-b', 1, 6);
    await l.stepCompensated('run-b', 1, 6);
    await l.stepDone('run-b', 1, null, 7); // too late: stays compensated
    await l.setState('run-b', 'failed', 'c: PermanentError: no', 8);
    const run = await l.get('run-b');
    expect(run?.steps).toEqual([
      { status: 'done', output: { shard: 's1', ids: [1, 2] } },
      { status: 'compensated', output: null },
      { status: 'pending', output: null },
    ]);
    expect(run).toMatchObject({ state: 'failed', failedStep: 2, error: 'c: PermanentError: no', updatedAt: 8 });
  });

  it('lists unfinished runs (running, compensating) oldest first', async () => {
    const l = log();
    await l.start({ id: 'u-2', name: 'n', input: 2, steps: 1, now: 200 });
    await l.start({ id: 'u-1', name: 'n', input: 1, steps: 1, now: 100 });
    await l.start({ id: 'u-3', name: 'n', input: 3, steps: 1, now: 300 });
    await l.setState('u-3', 'compensating', 'x', 301, 0);
    await l.start({ id: 'u-4', name: 'n', input: 4, steps: 1, now: 50 });
    await l.setState('u-4', 'done', null, 60);
    const ids = (await l.unfinished(100)).map((r) => r.id).filter((id) => id.startsWith('u-'));
    expect(ids).toEqual(['u-1', 'u-2', 'u-3']);
  });

  it('drives a saga over the durable log: done, and failed with its compensations recorded', async () => {
    const effects = new Set<string>();
    const runner = new SagaRunner({ log: log(), clock: new FakeClock(1000), sleep: async () => {} });
    const step = (name: string, fail = false) => ({
      name,
      async run(_input: null, ctx: { runId: string }) {
        effects.add(`${ctx.runId}:${name}`);
        if (fail) throw new PermanentError('refused');
        return name;
      },
      async compensate(_input: null, _output: unknown, ctx: { runId: string }) {
        effects.delete(`${ctx.runId}:${name}`);
      },
    });
    runner.define({ name: 'ok', steps: [step('a'), step('b')] });
    runner.define({ name: 'bad', steps: [step('a'), step('b', true), step('c')] });
    expect((await runner.run('ok', 'sql-ok', null)).steps.map((s) => s.output)).toEqual(['a', 'b']);
    const failed = await runner.run('bad', 'sql-bad', null);
    expect(failed).toMatchObject({ state: 'failed', failedStep: 1 });
    expect(failed.steps.map((s) => s.status)).toEqual(['compensated', 'compensated', 'pending']);
    expect([...effects].sort()).toEqual(['sql-ok:a', 'sql-ok:b']);
  });
});
