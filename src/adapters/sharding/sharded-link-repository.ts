import { KyselyLinkRepository } from '../sql/kysely-link-repository.js';
import type { Link, LinkChanges, LinkListQuery, LinkPage, NewLink } from '../../shortener/link.js';
import type { LinkRepository } from '../../shortener/ports.js';
import { mergePages } from './merge-pages.js';
import type { Shard, ShardSet } from './shard-set.js';

/**
 * Links spread over a ShardSet by key. A single-link operation goes to the key's shard only
 * (so a key is unique when it is unique in its shard: no cross-shard check, no distributed
 * lock); lists scatter to every shard and merge (merge-pages.ts).
 */
export class ShardedLinkRepository implements LinkRepository {
  private readonly repos: Map<string, LinkRepository>;

  /** `repoFor`: the repository of one shard (default: Kysely on the shard; with replicas, a router). */
  constructor(
    private readonly set: ShardSet,
    repoFor: (shard: Shard) => LinkRepository = (s) => new KyselyLinkRepository(s.database.db, s.database.dialect),
  ) {
    this.repos = new Map(set.shards.map((s) => [s.name, repoFor(s)]));
  }

  private repo(shard: Shard): LinkRepository {
    return this.repos.get(shard.name)!;
  }

  private owner(key: string): LinkRepository {
    return this.repo(this.set.shardFor(key));
  }

  insert(link: NewLink): Promise<Link | 'conflict'> {
    return this.owner(link.key).insert(link);
  }

  /**
   * One transaction per shard, the shards written concurrently. NOT atomic across shards: if
   * one shard's transaction fails, the others may have committed their part (the call rejects
   * and says nothing about which). Cross-shard bulk work that must be all-or-nothing is the
   * saga's job (docs/sharding.md). A key repeated in the batch lands in one shard, which keeps
   * its first occurrence, as on one database.
   */
  async insertMany(links: NewLink[]): Promise<(Link | 'conflict')[]> {
    const groups = new Map<Shard, { link: NewLink; at: number }[]>();
    links.forEach((link, at) => {
      const shard = this.set.shardFor(link.key);
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
    return out;
  }

  findByKey(key: string): Promise<Link | undefined> {
    return this.owner(key).findByKey(key);
  }

  update(key: string, changes: LinkChanges): Promise<Link | undefined> {
    return this.owner(key).update(key, changes);
  }

  delete(key: string): Promise<boolean> {
    return this.owner(key).delete(key);
  }

  /** Every shard is asked for `limit` items after the cursor, concurrently; the pages are merged. */
  async list(query: LinkListQuery): Promise<LinkPage> {
    if (!Number.isInteger(query.limit) || query.limit < 1) throw new RangeError(`list limit must be a positive integer, got ${query.limit}`);
    const pages = await Promise.all(this.set.shards.map((s) => this.repo(s).list(query)));
    return mergePages(query, pages);
  }

  /**
   * Shard by shard (s0's keys, then s1's…), each in its engine's key order. The last key of a
   * page routes to the shard it came from, so the next page resumes there; no merge (and no
   * collation agreement between shards) is needed to visit every key once.
   */
  async listKeys(afterKey: string | null, limit: number): Promise<string[]> {
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

  /** On the link's own shard: the id is only meaningful there. */
  consumeLimitedClick(link: Pick<Link, 'id' | 'key'>): Promise<boolean> {
    return this.owner(link.key).consumeLimitedClick(link);
  }
}
