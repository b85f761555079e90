import type { Clock } from '../../platform/clock.js';
import type { Link, LinkChanges, LinkListQuery, LinkPage, NewLink } from '../../shortener/link.js';
import type { LinkRepository } from '../../shortener/ports.js';

export interface ReplicaRoutingOptions {
  /** How far behind the primary a replica may be (ms): writes are read back from the primary this long. */
  lagBoundMs: number;
  clock: Clock;
  /** A replica read failed: it is skipped for this long, and the read goes to the primary. */
  replicaDownMs?: number;
  onReplicaError?: (error: unknown, replica: number) => void;
}

/**
 * Read/write splitting for links (chapter §2.3): writes go to the primary; reads go to the
 * replicas, except where a replica can be behind what the reader must see:
 * - read-your-writes: a key written (created, edited, deleted, clicked to its limit) through
 *   this process — or announced by `noteWrite` (the cross-process cache invalidation calls it)
 *   — is read from the primary for `lagBoundMs`; so is the link list of an account that wrote;
 * - a miss on a replica is retried on the primary. A missing key's age is unknown, so every miss
 *   is retried (a key created by another process a moment ago is exactly such a miss); the
 *   negative cache in front of this keeps repeated misses of unknown keys off both;
 * - a replica that fails is skipped for `replicaDownMs` and its reads go to the primary.
 * Replicas are used round-robin.
 */
export class ReplicaRoutedLinkRepository implements LinkRepository {
  private readonly recentKeys = new Map<string, number>();
  private readonly recentAccounts = new Map<number, number>();
  private readonly downUntil: number[];
  private next = 0;
  readonly stats = { replicaReads: 0, primaryReads: 0, missRetries: 0, replicaErrors: 0 };

  constructor(
    private readonly primary: LinkRepository,
    private readonly replicas: readonly LinkRepository[],
    private readonly options: ReplicaRoutingOptions,
  ) {
    this.downUntil = replicas.map(() => 0);
  }

  /** A write this process did not make itself (an invalidation from another api process). */
  noteWrite(key: string, accountId?: number): void {
    const until = this.options.clock.now() + this.options.lagBoundMs;
    this.recentKeys.set(key, until);
    if (accountId !== undefined) this.recentAccounts.set(accountId, until);
    if (this.recentKeys.size > 100_000) this.sweep();
  }

  async insert(link: NewLink): Promise<Link | 'conflict'> {
    const out = await this.primary.insert(link);
    this.noteWrite(link.key, link.accountId);
    return out;
  }

  async insertMany(links: NewLink[]): Promise<(Link | 'conflict')[]> {
    const out = await this.primary.insertMany(links);
    for (const l of links) this.noteWrite(l.key, l.accountId);
    return out;
  }

  async update(key: string, changes: LinkChanges): Promise<Link | undefined> {
    const out = await this.primary.update(key, changes);
    this.noteWrite(key, out?.accountId);
    return out;
  }

  async delete(key: string): Promise<boolean> {
    const owner = await this.primary.findByKey(key);
    const out = await this.primary.delete(key);
    this.noteWrite(key, owner?.accountId);
    return out;
  }

  consumeLimitedClick(link: Pick<Link, 'id' | 'key'>): Promise<boolean> {
    return this.primary.consumeLimitedClick(link);
  }

  async findByKey(key: string): Promise<Link | undefined> {
    if (this.isRecent(this.recentKeys, key)) return this.fromPrimary((p) => p.findByKey(key));
    const found = await this.fromReplica((r) => r.findByKey(key));
    if (found !== undefined) return found;
    this.stats.missRetries += 1;
    return this.fromPrimary((p) => p.findByKey(key));
  }

  list(query: LinkListQuery): Promise<LinkPage> {
    const wrote = query.accountId === undefined ? this.anyRecent(this.recentAccounts) : this.isRecent(this.recentAccounts, query.accountId);
    return wrote ? this.fromPrimary((p) => p.list(query)) : this.fromReplica((r) => r.list(query));
  }

  listKeys(afterKey: string | null, limit: number): Promise<string[]> {
    return this.fromReplica((r) => r.listKeys(afterKey, limit));
  }

  private isRecent<K>(map: Map<K, number>, k: K): boolean {
    const until = map.get(k);
    if (until === undefined) return false;
    if (until > this.options.clock.now()) return true;
    map.delete(k);
    return false;
  }

  private anyRecent(map: Map<number, number>): boolean {
    const now = this.options.clock.now();
    for (const until of map.values()) if (until > now) return true;
    return false;
  }

  private sweep(): void {
    const now = this.options.clock.now();
    for (const [k, until] of this.recentKeys) if (until <= now) this.recentKeys.delete(k);
    for (const [k, until] of this.recentAccounts) if (until <= now) this.recentAccounts.delete(k);
  }

  private fromPrimary<T>(read: (repo: LinkRepository) => Promise<T>): Promise<T> {
    this.stats.primaryReads += 1;
    return read(this.primary);
  }

  private async fromReplica<T>(read: (repo: LinkRepository) => Promise<T>): Promise<T> {
    const now = this.options.clock.now();
    for (let tried = 0; tried < this.replicas.length; tried++) {
      const i = this.next;
      this.next = (this.next + 1) % this.replicas.length;
      if ((this.downUntil[i] as number) > now) continue;
      try {
        const out = await read(this.replicas[i] as LinkRepository);
        this.stats.replicaReads += 1;
        return out;
      } catch (error) {
        this.stats.replicaErrors += 1;
        this.downUntil[i] = now + (this.options.replicaDownMs ?? 5000);
        this.options.onReplicaError?.(error, i);
      }
    }
    return this.fromPrimary(read);
  }
}
