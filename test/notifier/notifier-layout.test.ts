import { afterEach, expect, it } from 'vitest';
import { checkNotifierLayout } from '../../src/adapters/sharding/notifier-layout.js';
import { recipientShard } from '../../src/adapters/sharding/notifier-routing.js';
import { ShardSet, type Shard } from '../../src/adapters/sharding/shard-set.js';
import { KyselyNotifierRecipients } from '../../src/adapters/sql/kysely-notifier-recipients.js';
import { describeSharded, type TestShards } from '../helpers/databases.js';
import { onShards } from '../helpers/notifier-stores.js';

/** Start-up check for deployments whose notifier data was all on s0 before ADR 10. */
describeSharded('notifier layout check at start', (openShards) => {
  let shards: TestShards | undefined;
  afterEach(async () => {
    await shards?.close();
    shards = undefined;
  });
  const names = Array.from({ length: 30 }, (_, i) => `legacy-${i}`);
  const recipient = (id: string) => ({ accountId: 1, id, locale: 'en', timeZone: 'UTC', now: 1 });

  it('refuses a home shard holding recipients of other shards (stored there before), naming how many', async () => {
    shards = await openShards();
    const set = shards.set;
    // As the old wiring stored them: every recipient on s0.
    const s0 = new KyselyNotifierRecipients(shards.shards[0]!.db, 'postgres');
    for (const id of names) await s0.insert(recipient(id));
    const elsewhere = names.filter((id) => recipientShard(set, 1, id) !== set.home).length;
    expect(elsewhere).toBeGreaterThan(0);
    await expect(checkNotifierLayout(set)).rejects.toThrow(`DATABASE_SHARDS: ${elsewhere} notifier recipient(s) are not on the shard that owns them`);
    // Still refused on the next start: nothing was recorded.
    await expect(checkNotifierLayout(set)).rejects.toThrow(/notifier recipient/);
  });

  it('accepts recipients placed by the sharded stores and records it; checks every shard again when shards are added', async () => {
    shards = await openShards();
    // Two shards first (s0, s1), then the third added.
    const two = await ShardSet.prepare(shards.set.shards.slice(0, 2) as Shard[]);
    const { stores } = onShards(two);
    for (const id of names) await stores.recipients.insert(recipient(id));
    await checkNotifierLayout(two);
    const marker = await shards.shards[0]!.db.selectFrom('settings').select('value').where('name', '=', 'notifier_layout').executeTakeFirst();
    expect(marker?.value).toBe('by-recipient:2');
    // A misplaced row written afterwards (by nothing tny runs) is not looked for while the shards stay the same…
    const stray = names.find((id) => recipientShard(two, 2, id) !== two.home)!;
    await new KyselyNotifierRecipients(shards.shards[0]!.db, 'postgres').insert({ ...recipient(stray), accountId: 2 });
    await expect(checkNotifierLayout(two)).resolves.toBeUndefined();
    // …but with s2 added, the recipients s2 now owns are on s0/s1: refused, nothing recorded.
    const moved = names.filter((id) => recipientShard(shards!.set, 1, id).name === 's2').length;
    expect(moved).toBeGreaterThan(0);
    await expect(checkNotifierLayout(shards.set)).rejects.toThrow(/\d+ notifier recipient\(s\) are not on the shard that owns them \(e\.g\. \d+:legacy-\d+ on s[01], owned by s\d\)/);
    expect((await shards.shards[0]!.db.selectFrom('settings').select('value').where('name', '=', 'notifier_layout').executeTakeFirst())?.value).toBe('by-recipient:2');
  });
});
