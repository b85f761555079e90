import { randomBytes } from 'node:crypto';
import { statfs } from 'node:fs/promises';
import type { Logger } from 'pino';
import { KyselyAccountStore } from '../adapters/sql/kysely-account-store.js';
import { KyselyClickRepository } from '../adapters/sql/kysely-click-repository.js';
import { KyselyIdSequence } from '../adapters/sql/kysely-id-sequence.js';
import { openStorage, shardHealthChecks } from '../adapters/sharding/open-storage.js';
import { ShardedClickRepository } from '../adapters/sharding/sharded-click-repository.js';
import { ShardedIdSequence } from '../adapters/sharding/sharded-id-sequence.js';
import { ShardedLinkRepository } from '../adapters/sharding/sharded-link-repository.js';
import { TopologyWatcher } from '../adapters/sharding/topology-watcher.js';
import { checkNotifierLayout } from '../adapters/sharding/notifier-layout.js';
import { ShardedInbox } from '../adapters/sharding/sharded-inbox.js';
import { shardedNotifierStores } from '../adapters/sharding/sharded-notifier-stores.js';
import { openReplicatedLinks } from '../adapters/replicas/replicas.js';
import { KyselyIdempotencyStore } from '../adapters/sql/kysely-idempotency-store.js';
import { KyselyLinkRepository } from '../adapters/sql/kysely-link-repository.js';
import { InAppChannel } from '../adapters/channels/in-app-channel.js';
import { KyselyInbox } from '../adapters/sql/kysely-inbox.js';
import { kyselyNotifierStores } from '../adapters/sql/kysely-notifier-stores.js';
import { dataVersionFreshness } from '../adapters/sqlite/data-version-freshness.js';
import { busFreshness } from '../adapters/redis/bus-freshness.js';
import { cachedNotifierStores } from '../notifier/cached-stores.js';
import { KyselySettingsStore } from '../adapters/sql/kysely-settings-store.js';
import type { OpenedDatabase } from '../adapters/sql/open-database.js';
import { openRedis, type RedisHandle } from '../adapters/redis/open-redis.js';
import { RedisClickCounter } from '../adapters/redis/redis-click-counter.js';
import { groupCommitFor } from '../adapters/sqlite/group-commit.js';
import { SqliteLinkRepository } from '../adapters/sqlite/sqlite-link-repository.js';
import { WalCheckpointer } from '../adapters/sqlite/wal-checkpointer.js';
import { SqliteClickJournal } from '../adapters/sqlite/sqlite-click-journal.js';
import { SqliteClickRepository } from '../adapters/sqlite/sqlite-click-repository.js';
import type { Config } from '../config/config.js';
import { ROUTE_WORDS } from '../http/app.js';
import type { AppDeps } from '../http/deps.js';
import { Metrics } from '../http/metrics.js';
import { InboxHub } from '../notifier/inbox/inbox-hub.js';
import { RedisInboxHub } from '../adapters/redis/redis-inbox-hub.js';
import type { NotifierStores } from '../notifier/ports.js';
import { canonicalLocale, isTimeZone } from '../notifier/locale-and-zone.js';
import { DEFAULT_TEMPLATE_LIMITS, TemplateEngine } from '../notifier/templates/template-engine.js';
import { Authenticator } from '../platform/auth/authenticator.js';
import type { AccountStore } from '../platform/auth/ports.js';
import { LocalCache } from '../platform/cache/local-cache.js';
import { systemClock, type Clock } from '../platform/clock.js';
import type { HealthCheck } from '../platform/health/health.js';
import { FeistelPermutation } from '../platform/ids/feistel-permutation.js';
import { Lifecycle } from '../platform/lifecycle.js';
import { createRateLimiter } from '../platform/rate-limit/create-rate-limiter.js';
import { ruleFromRate } from '../platform/rate-limit/rules.js';
import { StoreOutage } from '../platform/rate-limit/store-outage.js';
import { ClickRecorder, type ClickSink } from '../shortener/click-recorder.js';
import { JournaledClickRepository } from '../shortener/journaled-clicks.js';
import type { ClickRepository } from '../shortener/ports.js';
import type { ShortenerContext } from '../shortener/context.js';
import { CounterKeys } from '../shortener/keys/counter-keys.js';
import { HashKeys } from '../shortener/keys/hash-keys.js';
import { KEY_SPACE, type KeyCandidates } from '../shortener/keys/key-generator.js';
import { RandomKeys } from '../shortener/keys/random-keys.js';
import { createLinkCache } from '../shortener/link-cache.js';
import { BUILTIN_RESERVED } from '../shortener/validate-alias.js';
import { attachNotifierPipeline, checkQueueConfig } from './notifier-pipeline.js';
import { redisClickCounting } from './redis-clicks.js';
import { createSagas, type Sagas } from './sagas.js';

/** How long the click journal stays owned by a process that stopped renewing it. */
const JOURNAL_LEASE_TTL_MS = 30_000;

export interface Container extends AppDeps {
  database: OpenedDatabase;
  /** Present when REDIS_URL is set. */
  redis: RedisHandle | undefined;
  accounts: AccountStore;
  lifecycle: Lifecycle;
  /** Stores in-app messages and tells the live inbox streams; the send pipeline's `in_app` channel. */
  inAppChannel: InAppChannel;
  /** Cross-shard bulk work (imports, account deletion) as sagas over the durable step log. */
  sagas: Sagas;
}

async function keyCandidates(config: Config, database: OpenedDatabase): Promise<KeyCandidates> {
  if (config.KEY_STRATEGY === 'hash') return new HashKeys();
  if (config.KEY_STRATEGY === 'random') return new RandomKeys();
  // The scramble's secret lives in the database, so every process maps ids the same way.
  const secret = await new KyselySettingsStore(database.db).getOrCreate('key_scramble_secret', () =>
    randomBytes(32).toString('base64url'),
  );
  const sequence = database.shards ? new ShardedIdSequence(database.shards) : new KyselyIdSequence(database.db);
  return new CounterKeys(sequence, new FeistelPermutation(KEY_SPACE, secret), config.KEY_BLOCK_SIZE);
}

/**
 * How clicks are counted and stored. On SQLite the clicks go through the click journal
 * (ADR 6) unless CLICK_COMPACT_INTERVAL_MS=0; otherwise (and on PostgreSQL) the write-behind
 * recorder writes each flush directly. Either way one object is closed last: the journal
 * compacts and hands its lease back, the recorder writes what it holds.
 */
async function clickCounting(
  config: Config,
  database: OpenedDatabase,
  clock: Clock,
  logger: Logger,
  metrics: () => Metrics,
  redis?: RedisHandle,
  lifecycle?: Lifecycle,
): Promise<{ clicks: ClickRepository; recorder: ClickSink; journal?: JournaledClickRepository }> {
  // On SQLite the click flush runs raw prepared multi-row statements (bench/click-flush.ts).
  const writer = database.shards
    ? new ShardedClickRepository(database.shards)
    : database.sqlite
      ? new SqliteClickRepository(database.db, database.sqlite)
      : new KyselyClickRepository(database.db, database.dialect);
  const recorder = new ClickRecorder(writer, clock, {
    intervalMs: config.CLICK_FLUSH_INTERVAL_MS,
    maxPending: config.CLICK_FLUSH_MAX_PENDING,
    maxBuffered: config.CLICK_FLUSH_MAX_PENDING * 10,
    maxBatch: config.CLICK_FLUSH_BATCH,
    onError: (err) => {
      metrics().clickFlushErrors.inc();
      logger.error({ err }, 'click flush failed; the clicks are kept for the next flush');
    },
    onDrop: (n) => {
      metrics().clicksDropped.inc(n);
      logger.warn({ dropped: n }, 'click buffer full while flushes fail; clicks dropped');
    },
  });
  if (config.CLICK_COUNTER === 'redis' && lifecycle) {
    return { clicks: writer, recorder: redisClickCounting(config, database, redis, recorder, clock, logger, lifecycle, metrics) };
  }
  if (!database.sqlite || !(writer instanceof SqliteClickRepository) || config.CLICK_COMPACT_INTERVAL_MS === 0) {
    return { clicks: writer, recorder };
  }
  const journal = new JournaledClickRepository(new SqliteClickJournal(database.db, database.sqlite, writer, clock), writer, recorder, clock, {
    flushIntervalMs: config.CLICK_FLUSH_INTERVAL_MS,
    flushMaxPending: config.CLICK_FLUSH_MAX_PENDING,
    appendRows: config.CLICK_FLUSH_BATCH,
    compactIntervalMs: config.CLICK_COMPACT_INTERVAL_MS,
    compactMaxRows: config.CLICK_COMPACT_MAX_ROWS,
    partRows: config.CLICK_COMPACT_PART_ROWS,
    leaseTtlMs: JOURNAL_LEASE_TTL_MS,
    onError: (err) => {
      metrics().clickFlushErrors.inc();
      logger.error({ err }, 'writing clicks to the journal or compacting it failed; it is retried');
    },
    onDrop: (n) => {
      metrics().clicksDropped.inc(n);
      logger.warn({ dropped: n }, 'click journal full while compaction is behind; clicks dropped');
    },
    onDirect: (reason) => logger.warn(reason),
  });
  await journal.start();
  return { clicks: journal, recorder: journal, journal };
}

function healthChecks(
  config: Config,
  database: OpenedDatabase,
  redis: RedisHandle | undefined,
  ctx: ShortenerContext,
  clock: Clock,
): HealthCheck[] {
  const redisCheck: HealthCheck[] = redis
    ? [
        {
          name: 'redis',
          async check() {
            const started = clock.now();
            try {
              await redis.redis.ping();
              return { status: 'healthy', latency_ms: clock.now() - started };
            } catch (err) {
              // tny keeps serving without Redis (each user of it has its fallback), so degraded.
              return { status: 'warning', error: err instanceof Error ? err.message : String(err) };
            }
          },
        },
      ]
    : [];
  return [
    ...redisCheck,
    {
      name: 'database',
      async check() {
        const started = clock.now();
        await ctx.links.findByKey('health-probe');
        return { status: 'healthy', engine: database.dialect, latency_ms: clock.now() - started };
      },
    },
    {
      name: 'cache',
      async check() {
        return { status: 'healthy', ...ctx.cache.stats(), ...ctx.cache.details() };
      },
    },
    {
      name: 'clicks',
      async check() {
        const s = ctx.recorder.bufferStats();
        const status = s.dropped > 0 || s.failedFlushes > 0 ? 'warning' : 'healthy';
        return { status, pending: s.pending, flushed: s.flushed, failed_flushes: s.failedFlushes, dropped: s.dropped };
      },
    },
    {
      name: 'disk',
      async check() {
        if (config.DATABASE_URL || database.shards) return { status: 'healthy', note: 'data is in PostgreSQL' };
        const fs = await statfs(config.DATA_DIR);
        const freeMb = Math.floor((fs.bavail * fs.bsize) / 1024 / 1024);
        const freePercent = Math.round((fs.bavail / fs.blocks) * 1000) / 10;
        const status = freeMb < config.HEALTH_DISK_FAIL_MB ? 'unhealthy' : freeMb < config.HEALTH_DISK_WARN_MB ? 'warning' : 'healthy';
        return { status, free_mb: freeMb, free_percent: freePercent };
      },
    },
  ];
}

/**
 * The notifier's configuration stores behind the accept path's read cache: on SQLite kept exact
 * by PRAGMA data_version; with Redis (scale-out) by announcements over the invalidation bus,
 * entries at most NOTIFY_CONFIG_CACHE_MS old; on PostgreSQL without Redis, uncached (another
 * process's writes could not be seen). src/notifier/cached-stores.ts.
 */
async function notifierStores(
  database: Awaited<ReturnType<typeof openStorage>>,
  stores: NotifierStores,
  redis: RedisHandle | undefined,
  config: Config,
  lifecycle: Lifecycle,
  logger: Logger,
): Promise<NotifierStores> {
  if (database.sqlite) return cachedNotifierStores(stores, { freshness: dataVersionFreshness(database.sqlite) });
  if (!redis || config.NOTIFY_CONFIG_CACHE_MS === 0) return stores;
  const freshness = lifecycle.add(
    'notifier config announcements',
    await busFreshness(redis.redis, redis.redis.duplicate(), config.INBOX_REDIS_PREFIX, (err) => logger.warn({ err }, 'announcing a notifier configuration change failed; retrying')),
  );
  return cachedNotifierStores(stores, { freshness, maxAgeMs: config.NOTIFY_CONFIG_CACHE_MS });
}

/** The notifier's default locale and zone, checked here because the registry has no BCP 47 or IANA type. */
function notifierDefaults(config: Config): { defaultLocale: string; defaultTimeZone: string } {
  const defaultLocale = canonicalLocale(config.NOTIFY_DEFAULT_LOCALE);
  if (defaultLocale === undefined) throw new Error(`NOTIFY_DEFAULT_LOCALE: "${config.NOTIFY_DEFAULT_LOCALE}" is not a BCP 47 language tag`);
  if (!isTimeZone(config.NOTIFY_DEFAULT_TIME_ZONE)) {
    throw new Error(`NOTIFY_DEFAULT_TIME_ZONE: "${config.NOTIFY_DEFAULT_TIME_ZONE}" is not an IANA time zone`);
  }
  return { defaultLocale, defaultTimeZone: config.NOTIFY_DEFAULT_TIME_ZONE };
}

/** Wires adapters chosen by config into the use cases. Shared by `tny serve` and the CLI. */
export async function createContainer(config: Config, logger: Logger, clock: Clock = systemClock): Promise<Container> {
  if (config.CACHE_BLOOM === 'on' && !config.REDIS_URL) {
    throw new Error('CACHE_BLOOM=on needs REDIS_URL: without it, links created by another process (e.g. the tny CLI) would be refused here');
  }
  checkQueueConfig(config);
  const defaults = notifierDefaults(config);
  const lifecycle = new Lifecycle();
  const database = lifecycle.add('database', await openStorage(config, {
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolSize: config.DATABASE_POOL_SIZE,
    sqliteSynchronous: config.SQLITE_SYNCHRONOUS,
    onIdleError: (err) => logger.warn({ err }, 'an idle database connection failed; the pool replaces it'),
  }, { warn: (message) => logger.warn(message) }));
  const checkpointer =
    database.sqlite && config.SQLITE_CHECKPOINT === 'background'
      ? lifecycle.add(
          'WAL checkpointer',
          new WalCheckpointer({
            file: database.sqlite.name,
            onFallback: (err) => logger.warn({ err }, 'the WAL checkpoint worker failed; the serving connection checkpoints alone again'),
          }).start(),
        )
      : undefined;
  if (database.shards) {
    // Resharding (ADR 8): follow s0's topology and tell `tny shards add` which epoch we route by.
    const watcher = new TopologyWatcher(database.shards, {
      clock,
      pollMs: config.TNY_TOPOLOGY_POLL_MS,
      onError: (err) => logger.warn({ err }, 'reading the shard topology failed; trying again at the next poll'),
    });
    await watcher.start();
    lifecycle.add('shard topology watcher', watcher);
  }
  const redis = config.REDIS_URL ? lifecycle.add('redis', await openRedis(config.REDIS_URL)) : undefined;
  // New in-app messages to live streams: in process, and with Redis to every process's streams.
  const inboxHub = redis
    ? lifecycle.add('inbox pub/sub', await RedisInboxHub.create(redis.redis, redis.redis.duplicate(), { prefix: config.INBOX_REDIS_PREFIX }))
    : new InboxHub();
  // With DATABASE_SHARDS, per-recipient notifier data on the recipient's shard (ADR 10).
  if (database.shards) await checkNotifierLayout(database.shards);
  const notifierRepos = database.shards ? shardedNotifierStores(database.shards) : kyselyNotifierStores(database);
  const inboxStore = database.shards ? new ShardedInbox(database.shards) : new KyselyInbox(database.db);
  // With DATABASE_REPLICAS, link reads go to the replicas (src/adapters/replicas).
  const replicated = await openReplicatedLinks(database, config.DATABASE_REPLICAS, {
    lagBoundMs: config.DATABASE_REPLICA_LAG_MS,
    clock,
    poolSize: config.DATABASE_POOL_SIZE,
    onReplicaError: (err, replica) => logger.warn({ err, replica }, 'a read replica failed; its reads go to the primary for a while'),
  });
  if (replicated) lifecycle.add('read replicas', replicated);
  const links =
    replicated?.links ??
    (database.shards
      ? new ShardedLinkRepository(database.shards)
      : database.sqlite
        ? new SqliteLinkRepository(database.db, database.sqlite, groupCommitFor(database.db, database.sqlite))
        : new KyselyLinkRepository(database.db, database.dialect));
  const { clicks, recorder, journal } = await clickCounting(config, database, clock, logger, () => metrics, redis, lifecycle);
  lifecycle.add('click recorder', recorder);
  // Gauges read the cache and buffer when scraped, after both exist.
  const metrics = new Metrics([
    { name: 'tny_link_cache_entries', help: 'Links in the in-process cache', read: () => cache.stats().size },
    { name: 'tny_link_cache_hits', help: 'Link cache hits since start', read: () => cache.stats().hits },
    { name: 'tny_link_cache_misses', help: 'Link cache misses since start', read: () => cache.stats().misses },
    { name: 'tny_clicks_pending', help: 'Click aggregates (links, with the journal) waiting for a flush', read: () => recorder.bufferStats().pending },
    {
      name: 'tny_click_journal_rows',
      help: 'Click rollup rows held in memory until compaction (SQLite click journal)',
      read: () => journal?.pendingRows() ?? 0,
    },
    {
      name: 'tny_sqlite_wal_checkpoints',
      help: 'WAL checkpoints run by the background checkpointer (SQLITE_CHECKPOINT=background) since start',
      read: () => checkpointer?.snapshot().runs ?? 0,
    },
    {
      name: 'tny_sqlite_wal_frames_behind',
      help: 'WAL frames not yet copied into the SQLite database file after the last background checkpoint',
      read: () => checkpointer?.snapshot().framesBehind ?? 0,
    },
    { name: 'tny_click_compactions', help: 'Click journal compactions finished since start', read: () => journal?.compactions ?? 0 },
    {
      name: 'tny_click_redis_failures',
      help: 'Click batches Redis did not take (CLICK_COUNTER=redis); their clicks were counted locally',
      read: () => (recorder instanceof RedisClickCounter ? recorder.bufferStats().redisFailures : 0),
    },
  ]);
  // The redirect cache: L1, plus with Redis an L2 behind a lease, pub/sub invalidation and
  // (CACHE_BLOOM) the Bloom filter of keys, filled before this resolves (docs/patterns/caching.md).
  const bloom = config.CACHE_BLOOM === 'on' || (config.CACHE_BLOOM === 'auto' && redis !== undefined);
  const cache = lifecycle.add(
    'link cache',
    await createLinkCache({
      links,
      clock,
      maxEntries: config.CACHE_MAX_ENTRIES,
      options: {
        ttlMs: config.CACHE_TTL_SECONDS * 1000,
        jitter: config.CACHE_TTL_JITTER,
        negativeTtlMs: config.NEGATIVE_CACHE_TTL_SECONDS * 1000,
      },
      redis: redis && {
        commands: redis.redis,
        subscriber: redis.redis.duplicate(),
        prefix: config.CACHE_REDIS_PREFIX,
        leaseTtlMs: config.CACHE_LEASE_TTL_MS,
        staleMs: config.CACHE_STALE_SECONDS * 1000,
        beta: config.CACHE_EARLY_REFRESH_BETA,
      },
      bloom: bloom ? { capacity: config.CACHE_BLOOM_CAPACITY, falsePositiveRate: config.CACHE_BLOOM_FALSE_POSITIVE_RATE } : undefined,
      onError: (err, what) => logger.warn({ err }, what),
      onFilterBuilt: (info) => logger.info(info, 'Bloom filter of link keys built'),
      ...(replicated ? { onRemoteChange: (key: string) => replicated.noteWrite(key) } : {}),
    }),
  );
  const shortener: ShortenerContext = {
    links,
    clicks,
    keys: await keyCandidates(config, database),
    cache,
    recorder,
    clock,
    policy: {
      url: { maxLength: config.URL_MAX_LENGTH, blocklist: config.URL_BLOCKLIST.map((h) => h.toLowerCase()), baseUrl: config.BASE_URL },
      reservedAliases: new Set([...BUILTIN_RESERVED, ...ROUTE_WORDS, ...config.RESERVED_ALIASES].map((w) => w.toLowerCase())),
      defaultRedirectStatus: config.REDIRECT_STATUS,
      permanentMaxAgeSeconds: config.REDIRECT_PERMANENT_MAX_AGE,
      temporaryMaxAgeSeconds: config.REDIRECT_TEMPORARY_MAX_AGE,
    },
  };
  const accounts = new KyselyAccountStore(database.db);
  // Rate limits: in-process, or shared through Redis when it is configured (one outage log per
  // outage for all limiters, a metric per check decided by RATE_LIMIT_REDIS_FAILURE).
  const policy = config.RATE_LIMIT_REDIS_FAILURE;
  const outage = new StoreOutage({
    clock,
    probeIntervalMs: 1000,
    onChange: (e) =>
      e.state === 'down'
        ? logger.warn({ err: e.error, policy }, 'rate limits: Redis unreachable, applying RATE_LIMIT_REDIS_FAILURE')
        : logger.info({ downMs: e.downMs, failedChecks: e.failedChecks }, 'rate limits: Redis reachable again'),
  });
  const bucket = (name: string, burst: number, perSecond: number) =>
    createRateLimiter(ruleFromRate(config.RATE_LIMIT_ALGORITHM, burst, perSecond), {
      clock,
      maxKeys: config.RATE_LIMIT_MAX_KEYS,
      shared: redis && {
        client: redis.redis,
        prefix: `${config.RATE_LIMIT_REDIS_PREFIX}${config.RATE_LIMIT_ALGORITHM}:${name}:`,
        policy,
        outage,
        timeoutMs: config.RATE_LIMIT_REDIS_TIMEOUT_MS,
        onFailure: () => metrics.rateLimitStoreFailures.labels(policy).inc(),
      },
    });
  const sagas = createSagas(config, database, shortener, clock, logger);
  const container: Container = {
    config,
    logger,
    database,
    redis,
    accounts,
    lifecycle,
    shortener,
    metrics,
    auth: new Authenticator(accounts, new LocalCache({ max: 10_000, clock }), config.AUTH_CACHE_TTL_SECONDS * 1000),
    idempotency: new KyselyIdempotencyStore(database.db),
    limiters: {
      writeIp: bucket('write_ip', config.RATE_LIMIT_WRITE_BURST, config.RATE_LIMIT_WRITE_PER_SECOND),
      writeKey: bucket('write_key', config.RATE_LIMIT_WRITE_BURST, config.RATE_LIMIT_WRITE_PER_SECOND),
      redirectIp:
        config.RATE_LIMIT_REDIRECT_BURST > 0
          ? bucket('redirect', config.RATE_LIMIT_REDIRECT_BURST, config.RATE_LIMIT_REDIRECT_PER_SECOND)
          : undefined,
      password: bucket('password', config.RATE_LIMIT_PASSWORD_BURST, config.RATE_LIMIT_PASSWORD_PER_MINUTE / 60),
    },
    health: [...healthChecks(config, database, redis, shortener, clock), ...shardHealthChecks(database.shards), ...(replicated?.health ?? [])],
    inbox: { recipients: notifierRepos.recipients, inbox: inboxStore, hub: inboxHub, clock },
    inAppChannel: new InAppChannel(inboxStore, inboxHub, clock),
    sagas,
    accountAdmin: { sagas: sagas.runner, accounts, clock, unavailable: () => sagas.partitions.unavailable?.() },
    notifier: {
      stores: await notifierStores(database, notifierRepos, redis, config, lifecycle, logger),
      templates: new TemplateEngine({ ...DEFAULT_TEMPLATE_LIMITS, renderMs: config.NOTIFY_TEMPLATE_RENDER_MS }),
      clock,
      ...defaults,
    },
  };
  attachNotifierPipeline(container, config, logger, clock);
  return container;
}
