import { FillTracker } from '../platform/cache/fill-tracker.js';
import { InvalidationBus } from '../platform/cache/invalidation-bus.js';
import { KeyFilter } from '../platform/cache/key-filter.js';
import { LocalCache } from '../platform/cache/local-cache.js';
import { RedisGuardStore } from '../platform/cache/redis-guard-store.js';
import type { RedisCommands, RedisSubscriber } from '../platform/cache/redis-client.js';
import { Singleflight } from '../platform/cache/singleflight.js';
import { StampedeGuard } from '../platform/cache/stampede-guard.js';
import { jitteredTtl } from '../platform/cache/ttl-jitter.js';
import type { Clock } from '../platform/clock.js';
import type { Link } from './link.js';
import type { LinkRepository } from './ports.js';

/** What the cache holds for a key: the link, or `null` for "no such key" (negative cache). */
export type CachedLink = Link | null;

export interface LinkCacheOptions {
  ttlMs: number;
  jitter: number;
  negativeTtlMs: number;
}

/** The shared tier and cross-process parts, present when Redis is configured. */
export interface LinkCacheShared {
  /** L2 in Redis behind the lease, early refresh and serve-stale; loads from the repository. */
  guard: StampedeGuard<CachedLink>;
  /** Deletes the key's shared state and tells every process it changed; never rejects. */
  publish(key: string): Promise<void>;
  /** The clock the guard stamps entries with (an L1 copy never outlives the L2 freshness). */
  clock: Clock;
  /** Statistics of the change messages (published, received, gaps, retries). */
  changes?(): unknown;
}

/** An L1 copy of an entry served stale from L2 lives this long (it is being refreshed). */
const STALE_L1_TTL_MS = 1000;

/**
 * Cache-aside for the redirect path (chapter §4.2).
 *
 * - L1: the in-process LRU. `peek()` is the redirect hot path: one synchronous, allocation-free
 *   LocalCache read, nothing else.
 * - On an L1 miss, the Bloom filter of existing keys (when configured) refuses keys that were
 *   never created, without touching Redis or the database (penetration).
 * - Then one load per key per process (singleflight), from L2 when Redis is configured (one
 *   load per key across processes: lease, XFetch, serve-stale, see StampedeGuard), else from
 *   the repository. Unknown keys are cached briefly (negative cache), links with jittered
 *   TTLs (avalanche). An L1 copy of an L2 entry never outlives the entry's freshness.
 * - An edit that lands while a load is in flight wins: the stale load is not cached (here by
 *   the fill tracker, in L2 by the lease).
 *
 * Writers call `invalidate(key)` after changing the database and await it: it drops L1, adds
 * the key to the Bloom filter (a create), deletes L2 and tells the other processes, which drop
 * their L1 copy and add the key to their filter (`remoteChange`).
 */
export class LinkCache {
  private readonly fills = new FillTracker();

  constructor(
    private readonly cache: LocalCache<CachedLink>,
    private readonly flight: Singleflight<string, CachedLink>,
    private readonly load: (key: string) => Promise<Link | undefined>,
    private readonly options: LinkCacheOptions,
    private readonly extras: { shared?: LinkCacheShared; filter?: KeyFilter; close?: () => Promise<void> } = {},
  ) {}

  /** The cached answer without loading: a link, null (known missing) or undefined (not cached). */
  peek(key: string): CachedLink | undefined {
    return this.cache.get(key);
  }

  async get(key: string): Promise<CachedLink> {
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    if (this.extras.filter && (await this.extras.filter.definitelyAbsent(key))) return null;
    return this.flight.do(key, () => this.fill(key));
  }

  stats(): { hits: number; misses: number; size: number } {
    return this.cache.stats();
  }

  /** Statistics of the shared tier, the filter and the bus (for /health/detailed). */
  details(): Record<string, unknown> {
    return {
      ...(this.extras.shared ? { l2: this.extras.shared.guard.stats(), changes: this.extras.shared.changes?.() } : {}),
      ...(this.extras.filter ? { bloom: this.extras.filter.stats() } : {}),
    };
  }

  /**
   * The key changed (created, edited or deleted) in the database: drops it here, including a
   * load already under way, and everywhere else. Resolves once the other processes were told
   * (or the message was queued for retry when Redis is unreachable).
   */
  invalidate(key: string): Promise<void> {
    this.remoteChange(key);
    return this.extras.shared ? this.extras.shared.publish(key) : Promise.resolve();
  }

  /** Another process changed the key: forget the L1 copy; it may be new, so the filter learns it. */
  remoteChange(key: string): void {
    this.cache.delete(key);
    this.fills.invalidate(key);
    this.extras.filter?.add(key);
  }

  /** Changes may have been missed (invalidation messages lost): forget every L1 copy. */
  clearLocal(): void {
    this.cache.clear();
    this.fills.invalidateAll();
  }

  async close(): Promise<void> {
    this.extras.filter?.close();
    await this.extras.close?.();
  }

  private async fill(key: string): Promise<CachedLink> {
    const fill = this.fills.begin(key);
    let link: CachedLink;
    let ttl: number;
    let stored: boolean;
    try {
      const shared = this.extras.shared;
      if (shared) {
        const entry = await shared.guard.get(key);
        link = entry.value;
        const left = entry.freshUntil - shared.clock.now();
        ttl = left > 0 ? Math.min(this.ttlFor(link), left) : STALE_L1_TTL_MS;
      } else {
        link = (await this.load(key)) ?? null;
        ttl = this.ttlFor(link);
      }
    } finally {
      stored = this.fills.end(fill);
    }
    if (stored && ttl > 0) this.cache.set(key, link, ttl);
    return link;
  }

  private ttlFor(link: CachedLink): number {
    return link ? jitteredTtl(this.options.ttlMs, this.options.jitter) : this.options.negativeTtlMs;
  }
}

export interface LinkCacheSetup {
  links: Pick<LinkRepository, 'findByKey' | 'listKeys'>;
  clock: Clock;
  /** Most links in L1. */
  maxEntries: number;
  options: LinkCacheOptions;
  /** The shared tier; without it the cache is L1 only (the embedded mode). */
  redis?: {
    commands: RedisCommands;
    /** A connection of its own for pub/sub. */
    subscriber: RedisSubscriber;
    prefix: string;
    leaseTtlMs: number;
    staleMs: number;
    beta: number;
  };
  /** The Bloom filter of existing keys; needs `redis` (other processes' creations arrive through it). */
  bloom?: { capacity: number; falsePositiveRate: number };
  onError(err: unknown, what: string): void;
  onFilterBuilt?(info: { keys: number; capacity: number; bytes: number; ms: number }): void;
  /** Another process announced a change of `key` (called before the L1 copy is dropped): read replicas route its reads to the primary. */
  onRemoteChange?(key: string): void;
}

/** Keys read per query while filling the Bloom filter. */
const KEY_PAGE = 5000;

/**
 * Assembles the redirect cache: L1 only, or L1 + L2 (Redis) with the lease and pub/sub
 * invalidation, optionally with the Bloom filter. Resolves once the filter is filled, so a
 * server built on it never answers a redirect from a partial filter (and even then, an
 * unfilled filter refuses nothing).
 */
export async function createLinkCache(setup: LinkCacheSetup): Promise<LinkCache> {
  const { links, clock, options, redis, bloom } = setup;
  const onError = throttled(setup.onError, clock);
  const l1 = new LocalCache<CachedLink>({ max: setup.maxEntries, clock });
  const flight = new Singleflight<string, CachedLink>();
  const load = (key: string) => links.findByKey(key);
  if (!redis) {
    if (bloom) throw new Error('the Bloom filter needs Redis (links created by other processes reach it only through Redis)');
    return new LinkCache(l1, flight, load, options);
  }

  const store = new RedisGuardStore<CachedLink>(redis.commands, redis.prefix);
  const guard = new StampedeGuard<CachedLink>({
    store,
    load: async (key) => (await links.findByKey(key)) ?? null,
    clock,
    ttlMs: (link) => (link ? jitteredTtl(options.ttlMs, options.jitter) : options.negativeTtlMs),
    staleMs: redis.staleMs,
    leaseTtlMs: redis.leaseTtlMs,
    beta: redis.beta,
    onError: (err) => onError(err, 'the shared link cache (Redis) failed; loading from the database'),
  });
  // The cache and the bus refer to each other: messages reach the cache once it exists.
  const box: { cache?: LinkCache; filter?: KeyFilter } = {};
  const bus = new InvalidationBus({
    redis: redis.commands,
    subscriber: redis.subscriber,
    channel: `${redis.prefix}changes`,
    seqKey: `${redis.prefix}changes:seq`,
    onKey: (key) => {
      setup.onRemoteChange?.(key);
      box.cache?.remoteChange(key);
    },
    onGap: () => {
      box.cache?.clearLocal();
      box.filter?.rebuild();
    },
    onError: (err) => onError(err, 'announcing a link change failed; retrying'),
  });
  const filter = bloom
    ? new KeyFilter({
        keys: () => pages(links),
        capacity: bloom.capacity,
        falsePositiveRate: bloom.falsePositiveRate,
        sync: bus,
        onError: (err) => onError(err, 'the Bloom filter of link keys failed; lookups pass it until it is rebuilt'),
        onBuilt: setup.onFilterBuilt,
      })
    : undefined;
  box.filter = filter;
  const cache = new LinkCache(l1, flight, load, options, {
    shared: { guard, publish: (key) => bus.publish(key, store.redisKeys(key)), clock, changes: () => bus.stats() },
    filter,
    close: () => bus.close(),
  });
  box.cache = cache;
  await bus.start();
  if (filter) await filter.start().catch(() => undefined); // reported through onError; lookups pass until rebuilt
  return cache;
}

async function* pages(links: Pick<LinkRepository, 'listKeys'>): AsyncIterable<string[]> {
  let after: string | null = null;
  for (;;) {
    const page = await links.listKeys(after, KEY_PAGE);
    if (page.length === 0) return;
    yield page;
    after = page[page.length - 1]!;
  }
}

/** Reports each kind of failure at most once per ERROR_REPORT_MS (a Redis outage fails every miss). */
const ERROR_REPORT_MS = 10_000;

function throttled(report: (err: unknown, what: string) => void, clock: Clock): (err: unknown, what: string) => void {
  const last = new Map<string, number>();
  return (err, what) => {
    const now = clock.now();
    if ((last.get(what) ?? -Infinity) + ERROR_REPORT_MS > now) return;
    last.set(what, now);
    report(err, what);
  };
}
