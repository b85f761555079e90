import type { Kysely } from 'kysely';
import type { Database } from '../sql/schema.js';
import { recipientShard } from './notifier-routing.js';
import type { Shard, ShardSet } from './shard-set.js';

/** The `settings` row on `s0` recording the shard count of the last clean check (ADR 10). */
const LAYOUT_SETTING = 'notifier_layout';
const PAGE = 5000;

function layoutOf(set: ShardSet): string {
  return `by-recipient:${set.size}`;
}

/** Recipients of `shard` whose ring owner is another shard: how many, and one of them. */
async function misplacedOn(set: ShardSet, shard: Shard): Promise<{ count: number; example?: string }> {
  const db = shard.database.db;
  let count = 0;
  let example: string | undefined;
  let after: { accountId: number; id: string } | undefined;
  for (;;) {
    let q = db.selectFrom('notifier_recipients').select(['account_id', 'id']);
    if (after) {
      const a = after;
      q = q.where((eb) => eb.or([eb('account_id', '>', a.accountId), eb.and([eb('account_id', '=', a.accountId), eb('id', '>', a.id)])]));
    }
    const rows = await q.orderBy('account_id').orderBy('id').limit(PAGE).execute();
    for (const r of rows) {
      const owner = recipientShard(set, Number(r.account_id), r.id);
      if (owner === shard) continue;
      count += 1;
      example ??= `${r.account_id}:${r.id} on ${shard.name}, owned by ${owner.name}`;
    }
    if (rows.length < PAGE) return { count, ...(example ? { example } : {}) };
    const last = rows.at(-1)!;
    after = { accountId: Number(last.account_id), id: last.id };
  }
}

async function record(db: Kysely<Database>, value: string): Promise<void> {
  await db
    .insertInto('settings')
    .values({ name: LAYOUT_SETTING, value })
    .onConflict((oc) => oc.column('name').doUpdateSet({ value }))
    .execute();
}

/**
 * Every recipient's rows must be on the shard the ring gives it now, or it is looked for there
 * and not found (its sends refused, its inbox empty). That breaks when notifier data was stored
 * before ADR 10 (all on `s0`) or before shards were added, and moving notifier data is not built.
 * So when the shard count differs from the last clean check (recorded on `s0`; the first start
 * after the upgrade included), every shard's recipients are checked and the start is refused
 * if some are misplaced. Categories, templates and old notification ids stay valid and are not
 * checked.
 */
export async function checkNotifierLayout(set: ShardSet): Promise<void> {
  const home = set.home.database.db;
  const marked = await home.selectFrom('settings').select('value').where('name', '=', LAYOUT_SETTING).executeTakeFirst();
  if (marked?.value === layoutOf(set)) return;
  const found = await Promise.all(set.shards.map((s) => misplacedOn(set, s)));
  const count = found.reduce((n, f) => n + f.count, 0);
  if (count > 0) {
    throw new Error(
      `DATABASE_SHARDS: ${count} notifier recipient(s) are not on the shard that owns them (e.g. ${found.find((f) => f.example)!.example}): ` +
        'stored before notifier data was sharded by recipient, or before shards were added; moving them is not supported yet ' +
        '(docs/adr/0010-notifier-data-by-recipient.md)',
    );
  }
  await record(home, layoutOf(set));
}
