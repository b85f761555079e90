import { afterAll, expect, it } from 'vitest';
import { dropTestShards, makeTestApp, testStorage } from '../helpers/app.js';
import { TEST_SHARD_COUNT } from '../helpers/databases.js';

// The links-api suite, every app on three PostgreSQL databases as DATABASE_SHARDS.
testStorage.shards = TEST_SHARD_COUNT;
afterAll(() => dropTestShards());
await import('../http/links-api.test.js');

it('really runs the suite on a shard set', async () => {
  const t = await makeTestApp();
  try {
    expect(t.container.database.shards?.size).toBe(TEST_SHARD_COUNT);
  } finally {
    await t.close();
  }
});
