import { KyselyLinkRepository } from '../sql/kysely-link-repository.js';
import type { Link, LinkChanges, LinkListQuery, LinkPage, NewLink } from '../../shortener/link.js';
import type { LinkRepository } from '../../shortener/ports.js';
import { sql } from 'kysely';
import { chunks, compareText } from '../sql/sql-helpers.js';
import { mergePages } from './merge-pages.js';
import type { Shard, ShardSet } from './shard-set.js';

/**
 * Links spread over a ShardSet by key. A single-link operation goes to the key's shard only
 * (so a key is unique when it is unique in its shard: no cross-shard check, no distributed
 * lock); lists scatter to every shard and merge (merge-pages.ts).
 *
 * While a shard is being added (ADR 8) a key whose owner changes has two candidates: reads and
 * writes try the old owner first, then the new one (the mover commits a key's copy on the new
 * shard before its delete on the old, and holds the old row locked in between, so this order
 * never misses an existing key); creates insert on the new owner and then check the old one.
 * Any miss first refreshes the topology (one shared query) and tries again if it changed, so a
 * process that has not polled yet still never answers "not found" for a key that moved.
 */
export class ShardedLinkRepository implements LinkRepository {
  private readonly repos = new Map<string, LinkRepository>();

  /** `repoFor`: the repository of one shard (default: Kysely on the shard; with replicas, a router). */
  constructor(
    private readonly set: ShardSet,
    private readonly repoFor: (shard: Shard) => LinkRepository = (s) => new KyselyLinkRepository(s.database.db, s.database.dialect),
  ) {
    for (const s of set.shards) this.repo(s);
  }

  private repo(shard: Shard): LinkRepository {
    let repo = this.repos.get(shard.name);
    if (!repo) this.repos.set(shard.name, (repo = this.repoFor(shard)));
    return repo;
  }

  /**
   * Runs `op` on the key's candidates in order until one finds it; if none does, refreshes
   * the topology and, when it changed, starts again.
   */
  private async firstHit<T>(key: string, op: (repo: LinkRepository) => Promise<T>, hit: (r: T) => boolean, miss: T): Promise<T> {
    for (;;) {
      for (const shard of this.set.candidates(key)) {
        const result = await op(this.repo(shard));
        if (hit(result)) return result;
      }
      // s0 unreachable: answer the miss (only a process that missed a topology change needs the
      // refresh; failing every miss on every shard while s0 is down would be worse).
      if (!(await this.set.refresh().catch(() => false))) return miss;
    }
  }

  async insert(link: NewLink): Promise<Link | 'conflict'> {
    const [result] = await this.insertMany([link]);
    return result ?? 'conflict';
  }

  /**
   * One transaction per shard, the shards written concurrently. NOT atomic across shards: if
   * one shard's transaction fails, the others may have committed their part (the call rejects
   * and says nothing about which). Cross-shard bulk work that must be all-or-nothing is the
   * saga's job (docs/sharding.md). A key repeated in the batch lands in one shard, which keeps
   * its first occurrence, as on one database. A key that is moving is inserted on its new
   * owner, then looked for on its old one: found there, the new row is removed ('conflict').
   */
  insertMany(links: NewLink[]): Promise<(Link | 'conflict')[]> {
    return this.set.routed(() => this.insertRouted(links));
  }

  private async insertRouted(links: NewLink[]): Promise<(Link | 'conflict')[]> {
    // Each link's candidates once, before writing: routing may change while the batch runs,
    // and the check below must look at the old owner of the routing the row was written by.
    const placed = links.map((link) => this.set.candidates(link.key));
    const groups = new Map<Shard, { link: NewLink; at: number }[]>();
    links.forEach((link, at) => {
      const shard = placed[at]!.at(-1)!;
      const group = groups.get(shard);
      if (group) group.push({ link, at });
      else groups.set(shard, [{ link, at }]);
    });
    const out: (Link | 'conflict')[] = new Array<Link | 'conflict'>(links.length);
    await Promise.all(
      [...groups].map(async ([shard, group]) => {
        const results = await this.repo(shard).insertMany(group.map((g) => g.link));
        results.forEach((r, i) => (out[group[i]!.at] = r));
      }),
    );
    await this.dropCreatesTakenOnOldOwner(out, placed);
    return out;
  }

  /** The other half of a create of a moving key: its old owner must not hold it. */
  private async dropCreatesTakenOnOldOwner(out: (Link | 'conflict')[], placed: readonly Shard[][]): Promise<void> {
    const byOld = new Map<Shard, { link: Link; at: number; on: Shard }[]>();
    out.forEach((r, at) => {
      const [old, owner] = placed[at]!;
      if (r === 'conflict' || !owner) return;
      const list = byOld.get(old!);
      if (list) list.push({ link: r, at, on: owner });
      else byOld.set(old!, [{ link: r, at, on: owner }]);
    });
    await Promise.all(
      [...byOld].map(async ([old, entries]) => {
        const taken = new Set(await keysPresent(old, entries.map((e) => e.link.key)));
        for (const e of entries) {
          if (!taken.has(e.link.key)) continue;
          await e.on.database.db.deleteFrom('short_urls').where('id', '=', e.link.id).execute();
          out[e.at] = 'conflict';
        }
      }),
    );
  }

  findByKey(key: string): Promise<Link | undefined> {
    return this.firstHit(key, (r) => r.findByKey(key), (l) => l !== undefined, undefined);
  }

  update(key: string, changes: LinkChanges): Promise<Link | undefined> {
    return this.firstHit(key, (r) => r.update(key, changes), (l) => l !== undefined, undefined);
  }

  delete(key: string): Promise<boolean> {
    return this.firstHit(key, (r) => r.delete(key), (done) => done, false);
  }

  /** Every shard is asked for `limit` items after the cursor, concurrently; the pages are merged. */
  async list(query: LinkListQuery): Promise<LinkPage> {
    if (!Number.isInteger(query.limit) || query.limit < 1) throw new RangeError(`list limit must be a positive integer, got ${query.limit}`);
    const pages = await Promise.all(this.set.shards.map((s) => this.repo(s).list(query)));
    // While a key is being moved it is on two shards for a moment (same row): keep one.
    return mergePages(query, this.set.migrating ? pages.map(dedupeAcross(pages)) : pages);
  }

  /**
   * Shard by shard (s0's keys, then s1's…), each in its engine's key order. The last key of a
   * page routes to the shard it came from, so the next page resumes there; no merge (and no
   * collation agreement between shards) is needed to visit every key once.
   */
  async listKeys(afterKey: string | null, limit: number): Promise<string[]> {
    if (this.set.migrating) return this.listKeysMerged(afterKey, limit);
    const out: string[] = [];
    let index = afterKey === null ? 0 : this.set.shardFor(afterKey).index;
    let after = afterKey;
    while (out.length < limit && index < this.set.size) {
      const page = await this.repo(this.set.shards[index]!).listKeys(after, limit - out.length);
      out.push(...page);
      if (out.length < limit) {
        index++;
        after = null;
      }
    }
    return out;
  }

  /**
   * While a shard is being added keys move between shards, so a shard-by-shard walk could
   * pass a key's new shard before it arrives: pages are then the global byte order (collate
   * "C", the same on every shard) merged from every shard, which a move cannot reorder. Costs
   * a sort per shard and page (no index serves that order), only during a move.
   */
  private async listKeysMerged(afterKey: string | null, limit: number): Promise<string[]> {
    const pages = await Promise.all(
      this.set.shards.map(async (s) => {
        const after = afterKey === null ? sql`true` : sql`short_key collate "C" > ${afterKey} collate "C"`;
        const { rows } = await sql<{ short_key: string }>`
          select short_key from short_urls where ${after} order by short_key collate "C" limit ${limit}`.execute(s.database.db);
        return rows.map((r) => r.short_key);
      }),
    );
    return [...new Set(pages.flat())].sort(compareText).slice(0, limit);
  }

  /**
   * On the shard holding the link (the id is kept when a link moves). False from every
   * candidate means the limit is reached or the link is gone: both end the same way.
   */
  consumeLimitedClick(link: Pick<Link, 'id' | 'key'>): Promise<boolean> {
    return this.firstHit(link.key, (r) => r.consumeLimitedClick(link), (done) => done, false);
  }
}

/** Keys of `keys` that `shard` holds. */
async function keysPresent(shard: Shard, keys: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const part of chunks([...keys])) {
    const rows = await shard.database.db.selectFrom('short_urls').select('short_key').where('short_key', 'in', part).execute();
    out.push(...rows.map((r) => r.short_key));
  }
  return out;
}

/** Drops from each page the keys an earlier page already has (a key caught mid-move is on two shards). */
function dedupeAcross(pages: readonly LinkPage[]): (page: LinkPage, index: number) => LinkPage {
  const firstPage = new Map<string, number>();
  pages.forEach((p, i) => p.items.forEach((l) => firstPage.has(l.key) || firstPage.set(l.key, i)));
  return (page, i) => ({ ...page, items: page.items.filter((l) => firstPage.get(l.key) === i) });
}
