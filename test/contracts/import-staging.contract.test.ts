import { afterAll, beforeAll, expect, it } from 'vitest';
import { KyselyAccountLinks } from '../../src/adapters/sql/kysely-account-deletion.js';
import { KyselyImportStaging } from '../../src/adapters/sql/kysely-import-staging.js';
import { KyselyLinkRepository } from '../../src/adapters/sql/kysely-link-repository.js';
import type { StagedLink } from '../../src/shortener/import-staging.js';
import type { NewLink } from '../../src/shortener/link.js';
import { describeEachDatabase, type TestDatabase } from '../helpers/databases.js';

function link(key: string, accountId = 7, tags: string[] = ['b', 'a']): NewLink {
  return {
    key,
    url: `https://example.com/${key}`,
    accountId,
    createdAt: 1000,
    updatedAt: 1000,
    expiresAt: null,
    maxClicks: 5,
    redirectStatus: 302,
    passwordHash: null,
    tags,
    forwardQuery: true,
    disabled: false,
  };
}
const staged = (line: number, key: string, isAlias = false): StagedLink => ({ line, isAlias, link: link(key) });

/** The import staging area (and per-account link deletion) on each engine. */
describeEachDatabase('import staging contract', (factory) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await factory.open();
  });
  afterAll(() => database.close());
  const staging = () => new KyselyImportStaging(database.db, database.dialect);
  const links = () => new KyselyLinkRepository(database.db, database.dialect);

  it('stages idempotently per (run, line), moves rows into links with their fields and tags, a batch at a time, each row once', async () => {
    const s = staging();
    await s.stage('run-1', [staged(2, 'k2'), staged(3, 'k3'), staged(4, 'k4', true)]);
    await s.stage('run-1', [staged(2, 'other-key'), staged(5, 'k5')]); // line 2 kept as it was
    await s.stage('run-2', [staged(2, 'r2')]);
    expect(await s.counts('run-1')).toEqual({ staged: 4 });
    const first = await s.insertStaged('run-1', 3);
    expect(first).toEqual({ inserted: ['k2', 'k3', 'k4'], conflicts: [], lastLine: 4 });
    expect(await s.counts('run-1')).toEqual({ staged: 1, inserted: 3 });
    expect(await links().findByKey('k2')).toMatchObject({ url: 'https://example.com/k2', accountId: 7, maxClicks: 5, redirectStatus: 302, tags: ['a', 'b'], forwardQuery: true, clickCount: 0 });
    expect(await links().findByKey('other-key')).toBeUndefined();
    expect(await s.insertStaged('run-1', 3, 4)).toEqual({ inserted: ['k5'], conflicts: [], lastLine: 5 });
    // Moving again (from the start: the step repeated after a crash) moves nothing.
    expect(await s.insertStaged('run-1', 3)).toEqual({ inserted: [], conflicts: [], lastLine: 0 });
    expect((await s.insertedKeys('run-1')).sort()).toEqual(['k2', 'k3', 'k4', 'k5']);
    expect(await s.counts('run-2')).toEqual({ staged: 1 });
  });

  it('a key taken meanwhile is a conflict (alias or not), and the other writer\'s link is left alone', async () => {
    const s = staging();
    await links().insert(link('taken-a', 99));
    await links().insert(link('taken-g', 99));
    await s.stage('run-3', [staged(1, 'taken-a', true), staged(2, 'taken-g'), staged(3, 'free-3')]);
    expect(await s.insertStaged('run-3', 10)).toEqual({
      inserted: ['free-3'],
      conflicts: [
        { line: 1, key: 'taken-a', isAlias: true },
        { line: 2, key: 'taken-g', isAlias: false },
      ],
      lastLine: 3,
    });
    expect(await s.conflicts('run-3')).toEqual([
      { line: 1, key: 'taken-a', isAlias: true },
      { line: 2, key: 'taken-g', isAlias: false },
    ]);
    expect(await s.existing(['taken-a', 'free-3', 'nope'])).toEqual(
      new Map([
        ['taken-a', { url: 'https://example.com/taken-a', accountId: 99 }],
        ['free-3', { url: 'https://example.com/free-3', accountId: 7 }],
      ]),
    );
    // Compensation removes only what the run inserted.
    expect(await s.removeInserted('run-3', 10)).toEqual(['free-3']);
    expect(await links().findByKey('free-3')).toBeUndefined();
    expect(await links().findByKey('taken-a')).toMatchObject({ accountId: 99 });
    expect(await links().findByKey('taken-g')).toMatchObject({ accountId: 99 });
  });

  it('removes the links a run inserted by id, a batch at a time, idempotently; a link made later under a removed key is not touched; clear empties the run only', async () => {
    const s = staging();
    await s.stage('run-4', [1, 2, 3, 4, 5].map((i) => staged(i, `c${i}`)));
    await s.insertStaged('run-4', 10);
    expect(await s.removeInserted('run-4', 2)).toEqual(['c1', 'c2']);
    expect(await s.counts('run-4')).toEqual({ inserted: 3, compensated: 2 });
    // Someone creates c1 again after the compensation removed it.
    await links().insert(link('c1', 55));
    expect(await s.removeInserted('run-4', 10)).toEqual(['c3', 'c4', 'c5']);
    expect(await s.removeInserted('run-4', 10)).toEqual([]);
    expect(await links().findByKey('c1')).toMatchObject({ accountId: 55 });
    for (const k of ['c2', 'c3', 'c4', 'c5']) expect(await links().findByKey(k)).toBeUndefined();
    await s.stage('run-5', [staged(1, 'z1')]);
    await s.clear('run-4');
    expect(await s.counts('run-4')).toEqual({});
    expect(await s.counts('run-5')).toEqual({ staged: 1 });
  });

  // PostgreSQL only here: two SQLite connections in one process would deadlock the synchronous
  // driver (one waits for the other's lock on the only thread); across processes SQLite's one
  // writer serializes them.
  if (factory.name === 'postgres') it('two connections moving the same run at once insert each row once', async () => {
    const s = staging();
    const again = new KyselyImportStaging((await database.connectAgain()).db, database.dialect);
    await s.stage('run-6', Array.from({ length: 60 }, (_, i) => staged(i + 1, `race-${i}`)));
    const drive = async (st: KyselyImportStaging) => {
      const keys: string[] = [];
      let after = 0;
      for (;;) {
        const moved = await st.insertStaged('run-6', 7, after);
        if (moved.inserted.length === 0 && moved.conflicts.length === 0) return keys;
        after = moved.lastLine;
        keys.push(...moved.inserted);
      }
    };
    const [a, b] = await Promise.all([drive(s), drive(again)]);
    expect([...a, ...b].sort()).toEqual(Array.from({ length: 60 }, (_, i) => `race-${i}`).sort());
    expect(await s.counts('run-6')).toEqual({ inserted: 60 });
  });

  it('deletes an account\'s links a batch at a time, and only that account\'s', async () => {
    const mine = Array.from({ length: 5 }, (_, i) => link(`acct-${i}`, 31));
    await links().insertMany([...mine, link('acct-other', 32)]);
    const l = new KyselyAccountLinks(database.db);
    const first = await l.deleteSome(31, 3);
    expect(first).toHaveLength(3);
    expect((await l.deleteSome(31, 3)).length).toBe(2);
    expect(await l.deleteSome(31, 3)).toEqual([]);
    for (const m of mine) expect(await links().findByKey(m.key)).toBeUndefined();
    expect(await links().findByKey('acct-other')).toMatchObject({ accountId: 32 });
  });
});
