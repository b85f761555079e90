import type { LocalCache } from '../platform/cache/local-cache.js';
import type { Singleflight } from '../platform/cache/singleflight.js';
import { jitteredTtl } from '../platform/cache/ttl-jitter.js';
import type { Link } from './link.js';

/** What the cache holds for a key: the link, or `null` for "no such key" (negative cache). */
export type CachedLink = Link | null;

export interface LinkCacheOptions {
  ttlMs: number;
  jitter: number;
  negativeTtlMs: number;
}

/**
 * Cache-aside for the redirect path (chapter §4.2): look in the in-process LRU, and on a
 * miss load from the repository once per key however many requests miss together
 * (singleflight), caching unknown keys briefly (penetration) with jittered TTLs (avalanche).
 * An edit that lands while a load is in flight wins: the stale load is not cached.
 */
export class LinkCache {
  private tick = 0;
  private readonly invalidatedAt = new Map<string, number>();

  constructor(
    private readonly cache: LocalCache<CachedLink>,
    private readonly flight: Singleflight<string, CachedLink>,
    private readonly load: (key: string) => Promise<Link | undefined>,
    private readonly options: LinkCacheOptions,
  ) {}

  /** The cached answer without loading: a link, null (known missing) or undefined (not cached). */
  peek(key: string): CachedLink | undefined {
    return this.cache.get(key);
  }

  async get(key: string): Promise<CachedLink> {
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    return this.flight.do(key, () => this.fill(key));
  }

  stats(): { hits: number; misses: number; size: number } {
    return this.cache.stats();
  }

  /** Drops a key everywhere in this process, including any load already under way. */
  invalidate(key: string): void {
    this.cache.delete(key);
    this.invalidatedAt.set(key, ++this.tick);
  }

  private async fill(key: string): Promise<CachedLink> {
    const started = this.tick;
    this.invalidatedAt.delete(key);
    const link = (await this.load(key)) ?? null;
    const invalidated = (this.invalidatedAt.get(key) ?? -1) > started;
    this.invalidatedAt.delete(key);
    if (!invalidated) {
      if (link) this.cache.set(key, link, jitteredTtl(this.options.ttlMs, this.options.jitter));
      else if (this.options.negativeTtlMs > 0) this.cache.set(key, null, this.options.negativeTtlMs);
    }
    return link;
  }
}
