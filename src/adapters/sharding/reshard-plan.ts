import { sql, type Kysely } from 'kysely';
import { HashRing } from '../../platform/hashing/hash-ring.js';
import type { Database } from '../sql/schema.js';
import { VNODES } from './shard-set.js';

/** Keys read per query while planning and verifying. */
const PAGE = 10_000;

/** The ring over `count` shards `s0`…, as every process builds it. */
export function ringOf(count: number): HashRing {
  return new HashRing(
    Array.from({ length: count }, (_, i) => `s${i}`),
    { vnodes: VNODES },
  );
}

/** Every key of a shard, page by page (keyset over the unique index). */
export async function* keysOf(db: Kysely<Database>): AsyncGenerator<string[]> {
  let after: string | null = null;
  for (;;) {
    let q = db.selectFrom('short_urls').select('short_key').orderBy('short_key').limit(PAGE);
    if (after !== null) q = q.where('short_key', '>', after);
    const page = (await q.execute()).map((r) => r.short_key);
    if (page.length === 0) return;
    yield page;
    if (page.length < PAGE) return;
    after = page.at(-1)!;
  }
}

/** The keys of a shard that `ring` gives to `owner`. */
export async function keysOwnedBy(db: Kysely<Database>, ring: HashRing, owner: string): Promise<string[]> {
  const out: string[] = [];
  for await (const page of keysOf(db)) for (const key of page) if (ring.lookup(key) === owner) out.push(key);
  return out;
}

export interface ShardPlan {
  shard: string;
  keys: number;
  moving: number;
}

/** What adding shard s{N} to N shards moves: per shard, its keys and how many go to the new one. */
export interface ReshardPlan {
  from: number;
  to: number;
  shards: ShardPlan[];
  keys: number;
  moving: number;
  /** moving / keys (0 when there are no keys). */
  fraction: number;
  /** What consistent hashing promises: 1 / (N + 1). */
  expected: number;
}

/** The plan for keys as they are now (each old shard's keys checked against the ring with the new shard). */
export async function planReshard(shards: readonly { name: string; db: Kysely<Database> }[]): Promise<ReshardPlan> {
  const n = shards.length;
  const next = ringOf(n + 1);
  const newName = `s${n}`;
  const plans: ShardPlan[] = [];
  for (const s of shards) {
    let keys = 0;
    let moving = 0;
    for await (const page of keysOf(s.db)) {
      keys += page.length;
      for (const key of page) if (next.lookup(key) === newName) moving++;
    }
    plans.push({ shard: s.name, keys, moving });
  }
  return summarize(n, plans);
}

export function summarize(n: number, plans: ShardPlan[]): ReshardPlan {
  const keys = plans.reduce((a, p) => a + p.keys, 0);
  const moving = plans.reduce((a, p) => a + p.moving, 0);
  return { from: n, to: n + 1, shards: plans, keys, moving, fraction: keys === 0 ? 0 : moving / keys, expected: 1 / (n + 1) };
}

/** Keys per shard that `ring` does not give to that shard (0 everywhere after a complete move). */
export async function misplacedKeys(shards: readonly { name: string; db: Kysely<Database> }[], ring: HashRing): Promise<{ keys: number; misplaced: number }> {
  let keys = 0;
  let misplaced = 0;
  for (const s of shards) {
    for await (const page of keysOf(s.db)) {
      keys += page.length;
      for (const key of page) if (ring.lookup(key) !== s.name) misplaced++;
    }
  }
  return { keys, misplaced };
}

/** Rows in notifier tables (they are not moved: resharding notifier data is not supported yet). */
export async function notifierRows(db: Kysely<Database>): Promise<number> {
  let total = 0;
  for (const table of RECIPIENT_TABLES) {
    const count = await sql<{ n: string | number }>`select count(*) as n from ${sql.id(table)}`.execute(db);
    total += Number(count.rows[0]?.n ?? 0);
  }
  return total;
}

/** The notifier's per-recipient tables, which live on the recipient's shard (ADR 10). */
const RECIPIENT_TABLES = ['notifier_recipients', 'notifier_contact_points', 'notifier_preferences', 'notifier_notifications', 'notifier_deliveries', 'notifier_inbox'] as const;
