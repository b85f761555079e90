import { expect, it } from 'vitest';
import { KyselyIdSequence } from '../../src/adapters/sql/kysely-id-sequence.js';
import { describeEachDatabase, useFreshDatabase } from '../helpers/databases.js';
import { runSqlWorkers, WORKER_START_DELAY_MS } from '../helpers/spawn-sql-workers.js';

type Range = { start: number; end: number };

/** Sorted ranges must tile [1, 1 + total) with no gap and no overlap. */
function expectTiling(ranges: Range[], size: number): void {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  let next = 1;
  for (const r of sorted) {
    expect(r).toEqual({ start: next, end: next + size });
    next = r.end;
  }
}

describeEachDatabase('IdSequence contract', (factory) => {
  const database = useFreshDatabase(factory);
  const sequence = () => new KyselyIdSequence(database().db);

  it('starts at 1 and hands out consecutive blocks per name', async () => {
    expect(await sequence().lease('keys', 100)).toEqual({ start: 1, end: 101 });
    expect(await sequence().lease('keys', 5)).toEqual({ start: 101, end: 106 });
    expect(await sequence().lease('other', 10)).toEqual({ start: 1, end: 11 });
    expect(await sequence().lease('keys', 1)).toEqual({ start: 106, end: 107 });
  });

  it('gives 20 concurrent leases disjoint ranges', async () => {
    const ranges = await Promise.all(Array.from({ length: 20 }, () => sequence().lease('keys', 50)));
    expectTiling(ranges, 50);
  });

  it('gives disjoint ranges to two connections racing on a new name', async () => {
    const other = new KyselyIdSequence((await database().connectAgain()).db);
    const ranges = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? other : sequence()).lease('fresh', 7)));
    expectTiling(ranges, 7);
  });

  it('gives disjoint ranges to three processes racing on a new name', async () => {
    const task = { op: 'lease' as const, name: 'multi', size: 10, times: 40, startAt: Date.now() + WORKER_START_DELAY_MS };
    const results = await runSqlWorkers<Range>(database().location, [task, task, task]);
    expectTiling(results.flat(), 10);
  });

  it('rejects a size that is not a positive integer', async () => {
    await expect(sequence().lease('keys', 0)).rejects.toThrow(RangeError);
    await expect(sequence().lease('keys', 1.5)).rejects.toThrow(RangeError);
    expect(await sequence().lease('keys', 1)).toEqual({ start: 1, end: 2 });
  });
});
