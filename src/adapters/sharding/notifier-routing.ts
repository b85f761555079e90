import { recipientRoute, routeOfNotificationId } from '../../notifier/notifications/ids.js';
import { compareText } from '../sql/sql-helpers.js';
import type { Shard, ShardSet } from './shard-set.js';

/**
 * Where notifier data lives with shards (ADR 10): a recipient's rows on the ring owner of
 * `${accountId}:${recipientId}`; a notification's and its deliveries' on the owner of the ring
 * position their id carries (minted from the same recipient); ids without one (minted before
 * notifier data was sharded) on the home shard, where all notifier data lived then.
 */
export function recipientShard(set: ShardSet, accountId: number, recipientId: string): Shard {
  return set.shardForHash(recipientRoute(accountId, recipientId));
}

/** The shard of a notification id or a delivery id (`<notification id>.<channel>`). */
export function notificationShard(set: ShardSet, id: string): Shard {
  const route = routeOfNotificationId(id);
  return route === undefined ? set.home : set.shardForHash(route);
}

/** Items grouped by their shard, each group in input order. */
export function groupByShard<T>(items: Iterable<T>, shardOf: (item: T) => Shard): Map<Shard, T[]> {
  const groups = new Map<Shard, T[]>();
  for (const item of items) {
    const shard = shardOf(item);
    const group = groups.get(shard);
    if (group) group.push(item);
    else groups.set(shard, [item]);
  }
  return groups;
}

/**
 * The first `limit` items of the global order from every shard's answer to the same keyset
 * query (same cursor, same limit), as in docs/sharding.md "Queries across shards": each shard
 * returned its first `limit` after the cursor, so the global first `limit` are among them.
 * A k-way merge of the pages' heads: each shard's own order is kept as its database gave it,
 * and only items of different shards are compared (byte-wise). Those are ids of different
 * notifications (or recipients compared in `collate "C"`), whose differing characters are
 * lowercase letters and digits, which every collation orders as bytes do; within one
 * notification (`.web_push` vs `.webhook`) an en_US collation would not, so that is left to the
 * shard.
 */
export function mergeByKey<T>(pages: readonly (readonly T[])[], key: (item: T) => string, order: 'asc' | 'desc', limit: number): T[] {
  const sign = order === 'asc' ? 1 : -1;
  const heads = pages.map(() => 0);
  const out: T[] = [];
  while (out.length < limit) {
    let best = -1;
    for (const [p, page] of pages.entries()) {
      const item = page[heads[p]!];
      if (item === undefined) continue;
      if (best === -1 || sign * compareText(key(item), key(pages[best]![heads[best]!]!)) < 0) best = p;
    }
    if (best === -1) break;
    out.push(pages[best]![heads[best]!]!);
    heads[best] = heads[best]! + 1;
  }
  return out;
}
