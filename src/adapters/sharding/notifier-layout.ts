import { KyselySettingsStore } from '../sql/kysely-settings-store.js';
import { recipientShard } from './notifier-routing.js';
import type { ShardSet } from './shard-set.js';

/** The `settings` row on `s0` saying its notifier rows are placed by recipient (ADR 8). */
const LAYOUT_SETTING = 'notifier_layout';
const BY_RECIPIENT = 'by-recipient';
const PAGE = 5000;

/**
 * Before ADR 8 every notifier row of a sharded deployment was on `s0`. Served now, a recipient
 * whose ring owner is another shard would be looked up there and not found (its sends refused,
 * its inbox empty). So the first start with sharded notifier data checks `s0`'s recipients
 * (once: a clean check is recorded in `settings`) and refuses to start if some belong
 * elsewhere: moving them is not built. Categories, templates and old notification ids stay
 * valid on `s0` and are not checked.
 */
export async function checkNotifierLayout(set: ShardSet): Promise<void> {
  const db = set.home.database.db;
  const marked = await db.selectFrom('settings').select('value').where('name', '=', LAYOUT_SETTING).executeTakeFirst();
  if (marked?.value === BY_RECIPIENT) return;
  let misplaced = 0;
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
      if (recipientShard(set, Number(r.account_id), r.id) === set.home) continue;
      misplaced += 1;
      example ??= `${r.account_id}:${r.id}`;
    }
    if (rows.length < PAGE) break;
    const last = rows.at(-1)!;
    after = { accountId: Number(last.account_id), id: last.id };
  }
  if (misplaced > 0) {
    throw new Error(
      `DATABASE_SHARDS: ${set.home.name} holds ${misplaced} notifier recipient(s) stored before notifier data was sharded by recipient ` +
        `whose shard is now another one (e.g. ${example}); moving them is not supported yet (docs/adr/0008-notifier-data-by-recipient.md)`,
    );
  }
  await new KyselySettingsStore(db).getOrCreate(LAYOUT_SETTING, () => BY_RECIPIENT);
}
