import { afterAll, beforeAll, expect, it } from 'vitest';
import { keysOf, ringOf } from '../../src/adapters/sharding/reshard-plan.js';
import { openShardSet } from '../../src/adapters/sharding/shard-set.js';
import { shardTargets } from '../../src/adapters/sharding/shard-urls.js';
import { ShardedLinkRepository } from '../../src/adapters/sharding/sharded-link-repository.js';
import { makeTestCli, type TestCli } from '../helpers/cli.js';
import { newLink } from '../helpers/new-link.js';
import { describeWithPostgres } from './reshard-helpers.js';
import { createTestDatabases } from '../helpers/databases.js';

/**
 * `tny shards add URL` over real databases (DATABASE_SHARDS names databases, not schemas):
 * four databases made and dropped by createTestDatabases. The URLs carry a password (trust auth
 * ignores it) that no output may show.
 */
describeWithPostgres('tny shards add', () => {
  let drop: () => Promise<void> = async () => undefined;
  let urls: string[];
  let cli: TestCli;

  beforeAll(async () => {
    const made = await createTestDatabases(process.env.DATABASE_URL_TEST!, 4);
    drop = made.drop;
    urls = made.urls;
    cli = await makeTestCli({ DATABASE_SHARDS: urls.slice(0, 3).join(','), TNY_TOPOLOGY_POLL_MS: '50' });
    const set = await openShardSet(shardTargets({ DATABASE_SHARDS: urls.slice(0, 3) })!, { poolSize: 2 });
    try {
      const made = await new ShardedLinkRepository(set).insertMany(Array.from({ length: 900 }, (_, i) => newLink(`cli${i}`)));
      expect(made.filter((m) => m === 'conflict')).toEqual([]);
    } finally {
      await set.close();
    }
  }, 60_000);

  afterAll(async () => {
    cli?.close();
    await drop();
  });

  it('plans (--dry-run), moves, verifies and records the 4th shard; passwords never printed; a re-run does nothing', async () => {
    const dry = await cli.run('shards', 'add', urls[3]!, '--dry-run');
    expect(dry.error).toBeUndefined();
    expect(dry.out).toMatch(/plan: adding s3 to 3 shard\(s\)/);
    const total = /total: 900 keys, (\d+) move \((\d+\.\d)%; consistent hashing moves about 1\/4 = 25\.0%\)/.exec(dry.out);
    expect(total, dry.out).not.toBeNull();
    const planned = Number(total![1]);
    expect(planned).toBeGreaterThan(150);
    expect(planned).toBeLessThan(300);

    const add = await cli.run('shards', 'add', urls[3]!, '--batch', '100');
    expect(add.error, add.err).toBeUndefined();
    console.log(`[reshard cli]\n${add.out}`);
    expect(add.out).toContain(`done: moved ${planned} keys; the topology on s0 is stable with 4 shards`);
    expect(add.out).toContain('verified: 900 keys, each on its shard of 4');
    const hidden = urls.map((u) => u.replace('sekret', '***'));
    expect(add.out).toContain(`update DATABASE_SHARDS to: ${hidden.join(',')}`);
    for (const r of [dry, add]) expect(r.out + r.err).not.toContain('sekret');

    const again = await cli.run('shards', 'add', urls[3]!);
    expect(again.error).toBeUndefined();
    expect(again.out).toContain('is already a shard of this set: nothing to do');

    // A process still configured with the 3 old URLs adopts s0's 4 shards (with a warning).
    const warnings: string[] = [];
    const set = await openShardSet(shardTargets({ DATABASE_SHARDS: urls.slice(0, 3) })!, { poolSize: 1, warn: (m) => warnings.push(m) });
    try {
      expect(set.size).toBe(4);
      expect(warnings.join()).toContain('add postgres://postgres:***@');
      const ring = ringOf(4);
      let keys = 0;
      for (const s of set.shards) {
        for await (const page of keysOf(s.database.db)) {
          keys += page.length;
          for (const k of page) expect(ring.lookup(k)).toBe(s.name);
        }
      }
      expect(keys).toBe(900);
    } finally {
      await set.close();
    }
  }, 60_000);

  it('refuses a URL that is not a shard set change it can make', async () => {
    const bad = await cli.run('shards', 'add', 'not a url');
    expect(String(bad.error)).toContain('the new shard must be a postgres:// URL');
    const batch = await cli.run('shards', 'add', urls[3]!, '--batch', '0');
    expect(String(batch.error)).toContain('--batch must be a whole number from 1 to 10000');
  });
});
