import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KyselySagaLog } from '../../src/adapters/sql/kysely-saga-log.js';
import { linkPartitions } from '../../src/main/sagas.js';
import { SagaRunner } from '../../src/platform/saga/runner.js';
import type { LinkPartitions } from '../../src/shortener/import-staging.js';
import { importLinks, type ImportRow, type SkippedRow } from '../../src/shortener/use-cases/import-links.js';
import { importSaga } from '../../src/shortener/use-cases/import-saga.js';
import { makeTestCli, type TestCli } from '../helpers/cli.js';

async function* rows(records: Record<string, unknown>[]): AsyncIterable<ImportRow> {
  for (const [i, record] of records.entries()) yield { line: i + 2, record };
}

/**
 * Keys taken by another writer between planning and inserting: the row is skipped (an alias as
 * ALIAS_TAKEN, a generated key as KEY_TAKEN), the other writer's link stays, the rest is imported.
 */
describe('import: a key taken between planning and inserting', () => {
  let cli: TestCli;
  beforeAll(async () => {
    cli = await makeTestCli();
  });
  afterAll(() => cli.close());

  it('reports ALIAS_TAKEN / KEY_TAKEN for the rows whose key another writer took meanwhile', async () => {
    await cli.runtime().withContainer(async (c) => {
      const owner = await c.accounts.createAccount('owner', false, Date.now());
      const rival = await c.accounts.createAccount('rival', false, Date.now());
      if (owner === 'conflict' || rival === 'conflict') throw new Error('accounts exist');
      const base = linkPartitions(c.database);
      // Just before the insert step moves rows: a rival takes the alias and one generated key.
      let raced = false;
      const partitions: LinkPartitions = {
        ...base,
        get: (name) => {
          const p = base.get(name);
          return {
            ...p,
            staging: {
              ...p.staging,
              clear: (runId) => p.staging.clear(runId),
              stage: (runId, r) => p.staging.stage(runId, r),
              existing: (keys) => p.staging.existing(keys),
              insertedKeys: (runId) => p.staging.insertedKeys(runId),
              conflicts: (runId) => p.staging.conflicts(runId),
              removeInserted: (runId, n) => p.staging.removeInserted(runId, n),
              counts: (runId) => p.staging.counts(runId),
              async insertStaged(runId, limit, after) {
                if (!raced) {
                  raced = true;
                  const staged = await c.database.db.selectFrom('import_staging').select(['short_key', 'is_alias']).where('run_id', '=', runId).orderBy('line').execute();
                  const generated = staged.find((s) => Number(s.is_alias) === 0)!.short_key;
                  for (const key of ['race-alias', generated]) {
                    const now = Date.now();
                    await c.shortener.links.insert({ key, url: 'https://rival.example/', accountId: rival.id, createdAt: now, updatedAt: now, expiresAt: null, maxClicks: null, redirectStatus: 302, passwordHash: null, tags: [], forwardQuery: false, disabled: false });
                  }
                }
                return p.staging.insertStaged(runId, limit, after);
              },
            },
          };
        },
      };
      const runner = new SagaRunner({ log: new KyselySagaLog(c.database.db), clock: c.shortener.clock });
      runner.define(importSaga(c.shortener, partitions));
      const skipped: SkippedRow[] = [];
      const result = await importLinks(
        c.shortener,
        { sagas: runner, partitions },
        { accountId: owner.id, isAdmin: false, keyId: 'test', accountName: 'owner' },
        { rows: rows([{ url: 'https://example.com/1', alias: 'race-alias' }, { url: 'https://example.com/2' }, { url: 'https://example.com/3' }]), sha256: 'f'.repeat(64) },
        { batchSize: 10, onSkip: (s) => skipped.push(s) },
      );
      expect(result).toMatchObject({ rows: 3, created: 1, skipped: 2 });
      expect(skipped.map((s) => [s.line, s.code])).toEqual([
        [2, 'ALIAS_TAKEN'],
        [3, 'KEY_TAKEN'],
      ]);
      expect((await c.shortener.links.findByKey('race-alias'))?.accountId).toBe(rival.id);
      const mine = await c.database.db.selectFrom('short_urls').select('original_url').where('account_id', '=', owner.id).execute();
      expect(mine.map((m) => m.original_url)).toEqual(['https://example.com/3']);
    });
  });
});
