import { afterEach, expect, it } from 'vitest';
import { checkNotifierLayout } from '../../src/adapters/sharding/notifier-layout.js';
import { recipientShard } from '../../src/adapters/sharding/notifier-routing.js';
import { KyselyNotifierRecipients } from '../../src/adapters/sql/kysely-notifier-recipients.js';
import { describeSharded, type TestShards } from '../helpers/databases.js';
import { onShards } from '../helpers/notifier-stores.js';

/** Start-up check for deployments whose notifier data was all on s0 before ADR 8. */
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
    await expect(checkNotifierLayout(set)).rejects.toThrow(`DATABASE_SHARDS: s0 holds ${elsewhere} notifier recipient(s)`);
    // Still refused on the next start: nothing was recorded.
    await expect(checkNotifierLayout(set)).rejects.toThrow(/notifier recipient/);
  });

  it('accepts recipients placed by the sharded stores and records it, so later starts skip the scan', async () => {
    shards = await openShards();
    const { stores } = onShards(shards.set);
    for (const id of names) await stores.recipients.insert(recipient(id));
    await checkNotifierLayout(shards.set);
    const marker = await shards.shards[0]!.db.selectFrom('settings').select('value').where('name', '=', 'notifier_layout').executeTakeFirst();
    expect(marker?.value).toBe('by-recipient');
    // A misplaced row written afterwards (by nothing tny runs) is no longer looked for.
    const stray = names.find((id) => recipientShard(shards!.set, 2, id) !== shards!.set.home)!;
    await new KyselyNotifierRecipients(shards.shards[0]!.db, 'postgres').insert({ ...recipient(stray), accountId: 2 });
    await expect(checkNotifierLayout(shards.set)).resolves.toBeUndefined();
  });
});
