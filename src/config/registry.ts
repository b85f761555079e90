import { bool, int, list, num, oneOf, optionalStr, str, url } from './fields.js';

/**
 * Every environment variable tny reads, in one place. The README's configuration table is
 * rendered from this record (`npm run docs:config`), and a test checks that it is current.
 */
export const registry = {
  HOST: str('Interface the HTTP server binds to.', '127.0.0.1'),
  PORT: int('TCP port of the HTTP server (0 picks a free one).', 8080, { min: 0, max: 65535 }),
  BASE_URL: url('Public origin of short links, e.g. `https://tny.example`. Defaults to `http://HOST:PORT`.', [
    'http:',
    'https:',
  ]),
  TRUST_PROXY: bool('Trust `X-Forwarded-For`/`-Proto` from a reverse proxy for the client IP.', false),
  LOG_LEVEL: oneOf('pino log level.', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  DATA_DIR: str('Directory of the embedded SQLite database.', './data'),
  DATABASE_URL: url('PostgreSQL URL (`postgres://…`). When unset, tny uses SQLite in `DATA_DIR`.', [
    'postgres:',
    'postgresql:',
  ]),
  DATABASE_SHARDS: list(
    'PostgreSQL URLs of the link shards, comma-separated (`postgres://…,postgres://…`): links are spread over them by consistent hashing of the key; the first (`s0`) also holds everything unsharded. The order is part of the data: keep it. Not together with `DATABASE_URL`. See docs/sharding.md.',
  ),
  DATABASE_REPLICAS: optionalStr(
    'PostgreSQL read replicas: one group per database in order (the DATABASE_URL, or each DATABASE_SHARDS entry), groups separated by `;`, replicas in a group by `,` (`postgres://r1,postgres://r2;postgres://s1-r1`). Redirect and list reads go to them; writes and read-your-writes go to the primary. See docs/scale-out.md.',
  ),
  DATABASE_REPLICA_LAG_MS: int('With DATABASE_REPLICAS, the replication lag to allow for: a key written (here, or by another process as announced through Redis) and the lists of an account that wrote are read from the primary this long (ms).', 1000, { min: 0, max: 600_000 }),
  TNY_TOPOLOGY_POLL_MS: int('With DATABASE_SHARDS, how often each process reads the shard topology on s0 and records the epoch it routes by (ms). `tny shards add` waits until every live process (one heard from within 3 polls) routes by the new topology before it moves keys. See docs/sharding.md.', 1000, { min: 50, max: 60_000 }),
  SQLITE_SYNCHRONOUS: oneOf(
    'SQLite durability: `normal` survives a process crash; `full` also survives a power loss, at the cost of a disk sync per write.',
    'normal',
    ['normal', 'full'],
  ),
  SQLITE_CHECKPOINT: oneOf(
    'Where SQLite copies its write-ahead log into the database file: `background` (a worker thread with its own connection, every 250 ms once the log passes 4 MB, with SQLite\'s own checkpoint at ~16 MB as the backstop; ADR 12) or `inline` (only inside the commit that crosses ~16 MB, as SQLite does by default).',
    'background',
    ['background', 'inline'],
  ),
  REDIS_URL: url(
    'Redis URL (`redis://…`). When set, rate limits, the second cache tier and its invalidation are shared through it.',
    ['redis:', 'rediss:'],
  ),
  DATABASE_POOL_SIZE: int('Connections in the PostgreSQL pool.', 10, { min: 1, max: 1000 }),
  BODY_LIMIT: int('Largest accepted request body, in bytes.', 65_536, { min: 1024, max: 100 * 1024 * 1024 }),

  KEY_STRATEGY: oneOf('How short keys are made: `counter` (leased id blocks, scrambled), `hash` or `random`.', 'counter', [
    'counter',
    'hash',
    'random',
  ]),
  KEY_BLOCK_SIZE: int('Ids leased from the database at a time by the counter strategy.', 1000, { min: 1, max: 1_000_000 }),
  URL_MAX_LENGTH: int('Longest URL that can be shortened, in characters.', 4096, { min: 64, max: 65_536 }),
  URL_BLOCKLIST: list('Hosts that cannot be shortened (a host also blocks its subdomains).'),
  RESERVED_ALIASES: list('Extra aliases nobody may take, besides tny\'s own routes.'),

  REDIRECT_STATUS: oneOf('Default redirect status of new links.', 301, [301, 302, 307, 308]),
  REDIRECT_PERMANENT_MAX_AGE: int('`Cache-Control` max-age (s) of 301/308 answers.', 86_400, { min: 0 }),
  REDIRECT_TEMPORARY_MAX_AGE: int('`Cache-Control` max-age (s) of 302/307 answers; 0 lets every click reach tny.', 0, {
    min: 0,
  }),

  CACHE_MAX_ENTRIES: int('Links kept in the in-process redirect cache.', 100_000, { min: 1 }),
  CACHE_TTL_SECONDS: int('Lifetime of a cached link, before jitter.', 3600, { min: 1 }),
  CACHE_TTL_JITTER: num('Random spread of cache lifetimes (0.1 = ±10%), against avalanches.', 0.1, { min: 0, max: 0.9 }),
  NEGATIVE_CACHE_TTL_SECONDS: int('Lifetime of a cached "no such key" answer.', 5, { min: 0 }),
  CACHE_REDIS_PREFIX: str('With REDIS_URL, prefix of the shared link cache\'s keys and invalidation channel in Redis.', 'tny:cache:'),
  CACHE_LEASE_TTL_MS: int(
    'With REDIS_URL, how long one process holds the right to load a missing link for all of them; bounds the wait a crashed holder causes.',
    2000,
    { min: 10, max: 60_000 },
  ),
  CACHE_STALE_SECONDS: int('With REDIS_URL, how long past its lifetime a shared entry is still served while one process refreshes it.', 300, {
    min: 0,
  }),
  CACHE_EARLY_REFRESH_BETA: num('With REDIS_URL, XFetch beta: larger refreshes hot links earlier before they expire; 0 turns early refresh off.', 1, {
    min: 0,
    max: 100,
  }),
  CACHE_BLOOM: oneOf(
    'Bloom filter of existing keys, refusing unknown keys without a database read: `auto` (on with REDIS_URL), `on` (needs REDIS_URL), `off`.',
    'auto',
    ['auto', 'on', 'off'],
  ),
  CACHE_BLOOM_CAPACITY: int('Keys the Bloom filter is sized for at least (it rebuilds at twice the size when outgrown).', 1_000_000, {
    min: 1000,
    max: 500_000_000,
  }),
  CACHE_BLOOM_FALSE_POSITIVE_RATE: num('Target false-positive rate of the Bloom filter (0.01: 1.2 MB per million keys).', 0.01, {
    min: 0.000001,
    max: 0.5,
  }),

  CLICK_FLUSH_INTERVAL_MS: int('How often buffered clicks are written to the database.', 1000, { min: 10 }),
  CLICK_FLUSH_MAX_PENDING: int('Buffered click aggregates that trigger an early flush.', 10_000, { min: 1 }),
  CLICK_FLUSH_BATCH: int('Click aggregates per write transaction (per click-journal row on SQLite); a flush writes several, letting requests run between them (smaller batches, shorter waits for the requests behind them; ADR 12).', 500, {
    min: 1,
  }),

  CLICK_COMPACT_INTERVAL_MS: int(
    'SQLite: flushes append to a click journal, folded into stats and counts this often (ADR 6); 0 writes each flush directly.',
    60_000,
    { min: 0 },
  ),
  CLICK_COMPACT_MAX_ROWS: int('Pending journal rows (distinct link × day × referrer × browser × OS) that trigger an early compaction.', 100_000, {
    min: 1,
  }),
  CLICK_COMPACT_PART_ROWS: int('Rows per compaction transaction; requests run between transactions (smaller parts, shorter waits for the requests behind them; ADR 12).', 64, { min: 1 }),
  CLICK_COUNTER: oneOf(
    'Where redirects count clicks: `local` (in process, the default) or `redis` (needs REDIS_URL: a shared pending hash in Redis, flushed to the database every CLICK_FLUSH_INTERVAL_MS exactly once by whichever process holds the flusher lease; ADR 7).',
    'local',
    ['local', 'redis'],
  ),
  CLICK_REDIS_PREFIX: str('With CLICK_COUNTER=redis, prefix of the click keys in Redis (keep the `{…}` hash tag on Redis Cluster: RENAME needs one slot).', '{tny:clicks}:'),
  CLICK_REDIS_LEASE_TTL_MS: int('With CLICK_COUNTER=redis, how long the click flusher lease outlives a flusher that stopped renewing it (a crashed flusher is replaced after this).', 10_000, {
    min: 100,
    max: 600_000,
  }),
  CLICK_REDIS_MAX_IN_FLIGHT: int('With CLICK_COUNTER=redis, click batches awaiting Redis beyond which clicks are counted locally (written to the database directly) instead.', 64, {
    min: 1,
  }),

  RATE_LIMIT_WRITE_BURST: int('Burst (the limit) for API writes, per API key and per client IP.', 100, { min: 1 }),
  RATE_LIMIT_WRITE_PER_SECOND: num('Sustained rate of API writes, per second.', 10, { min: 0.001 }),
  RATE_LIMIT_REDIRECT_BURST: int('Burst (the limit) for redirects per client IP; 0 turns the limit off.', 0, { min: 0 }),
  RATE_LIMIT_REDIRECT_PER_SECOND: num('Sustained rate of redirects per client IP, per second.', 50, { min: 0.001 }),
  RATE_LIMIT_PASSWORD_BURST: int('Password attempts per link and client IP before limiting.', 5, { min: 1 }),
  RATE_LIMIT_PASSWORD_PER_MINUTE: num('Password attempts regained per minute.', 5, { min: 0.001 }),
  RATE_LIMIT_ALGORITHM: oneOf(
    'Rate-limit algorithm (docs/patterns/rate-limiting.md). A burst B at R per second is B per B/R-second window for the window algorithms.',
    'token-bucket',
    ['token-bucket', 'gcra', 'sliding-counter', 'sliding-log', 'fixed-window'],
  ),
  RATE_LIMIT_REDIS_FAILURE: oneOf(
    'With REDIS_URL, what a rate-limit check does while Redis is unreachable: `open` allows, `closed` refuses (429), `local` limits in-process.',
    'local',
    ['open', 'closed', 'local'],
  ),
  RATE_LIMIT_REDIS_PREFIX: str('Prefix of rate-limit keys in Redis.', 'tny:rl:'),
  INBOX_REDIS_PREFIX: str('With REDIS_URL, prefix of the pub/sub channel that carries new in-app messages to the live streams of every process.', 'tny:'),
  RATE_LIMIT_REDIS_TIMEOUT_MS: int('A rate-limit check waits this long for Redis before applying RATE_LIMIT_REDIS_FAILURE.', 250, {
    min: 1,
  }),
  RATE_LIMIT_MAX_KEYS: int('Keys (client IPs, API keys) each in-process limiter remembers; the least recently used is forgotten.', 100_000, {
    min: 1,
  }),

  IDEMPOTENCY_TTL_SECONDS: int('How long an `Idempotency-Key` replays its first answer.', 86_400, { min: 1 }),
  AUTH_CACHE_TTL_SECONDS: int('How long a checked API key is trusted before it is read again (revocation delay).', 5, {
    min: 0,
  }),
  HEALTH_DISK_WARN_MB: int('Free disk space under which `/health/detailed` reports degraded.', 1024, { min: 0 }),
  HEALTH_DISK_FAIL_MB: int('Free disk space under which `/health/detailed` reports unhealthy.', 100, { min: 0 }),
  TNY_ROLE: oneOf(
    'What `tny serve` runs (`--role` overrides it): `api` serves the API and redirects without delivery workers, `worker` delivers and runs background jobs with only /health, /health/detailed and /metrics on PORT, `all` both.',
    'all',
    ['api', 'worker', 'all'],
  ),
  SHUTDOWN_TIMEOUT_MS: int('Longest graceful shutdown before the process exits anyway.', 10_000, { min: 100 }),
  ADMIN_KEY_NAME: optionalStr('Name of the admin API key made on first start.'),
  SAGA_RESUME_AT_START: bool('Whether `tny serve` (roles `all` and `worker`) resumes unfinished sagas (imports, account deletions) when it starts.', true),
  TNY_FAULT_KILL: list(
    'Test only: fault points where the process SIGKILLs itself, for crash tests (src/platform/faults.ts): `saga:<saga>:<step>:before` or `:after`, `saga:<saga>:compensate:<step>:before` or `:after`, `import:staged`, `import:insert-<partition>:batch`. Never set it in production.',
  ),

  // Notification channels (docs/notifier-channels.md). A channel is on when its settings are set.
  NOTIFY_SMTP_HOST: optionalStr('SMTP server for the email channel; the channel is on when this and NOTIFY_EMAIL_FROM are set.'),
  NOTIFY_SMTP_PORT: int('SMTP port (587 submission with STARTTLS, 465 with NOTIFY_SMTP_SECURE).', 587, { min: 1, max: 65535 }),
  NOTIFY_SMTP_SECURE: bool('Implicit TLS from the first byte (port 465).', false),
  NOTIFY_SMTP_REQUIRE_TLS: bool('Refuse to send mail unless the server upgrades to TLS (STARTTLS); turn off only for a local test server.', true),
  NOTIFY_SMTP_USER: optionalStr('SMTP user name, when the server needs authentication.'),
  NOTIFY_SMTP_PASSWORD: optionalStr('SMTP password (never logged).'),
  NOTIFY_EMAIL_FROM: optionalStr('Sender of notification emails, e.g. `tny <noreply@example.com>`.'),
  NOTIFY_EMAIL_MESSAGE_ID_DOMAIN: optionalStr('Right-hand side of Message-IDs (`<delivery-id@domain>`); defaults to the domain of NOTIFY_EMAIL_FROM.'),
  NOTIFY_WEBHOOK_SECRET: optionalStr('Default webhook signing secret, `whsec_` + base64 (Standard Webhooks); the webhook channel is on when set.'),
  NOTIFY_WEBHOOK_ALLOWED_NETWORKS: list(
    'CIDRs that webhook and Web Push URLs may reach although private, loopback or link-local (e.g. `10.0.0.0/8`); empty refuses them all.',
  ),
  NOTIFY_VAPID_PUBLIC_KEY: optionalStr('VAPID public key (base64url) for Web Push; the channel is on when the VAPID keys and subject are set.'),
  NOTIFY_VAPID_PRIVATE_KEY: optionalStr('VAPID private key (base64url, never logged).'),
  NOTIFY_VAPID_SUBJECT: optionalStr('VAPID contact, `mailto:…` or `https://…`, that push services may use to reach the operator.'),
  NOTIFY_FCM_SERVICE_ACCOUNT_FILE: optionalStr('Path of the Firebase service-account JSON key; the FCM channel is on when set.'),
  NOTIFY_FCM_ENDPOINT: url('FCM API origin. Unset: `https://fcm.googleapis.com`.', ['https:', 'http:']),
  NOTIFY_FCM_TOKEN_URI: url('OAuth2 token endpoint. Unset: the service account\'s `token_uri`.', ['https:', 'http:']),
  NOTIFY_APNS_KEY_FILE: optionalStr('Path of the APNs token-auth key (.p8); the APNs channel is on when this, the key id, team id and topic are set.'),
  NOTIFY_APNS_KEY_ID: optionalStr('APNs key id (the `kid` of provider tokens).'),
  NOTIFY_APNS_TEAM_ID: optionalStr('Apple developer team id (the `iss` of provider tokens).'),
  NOTIFY_APNS_TOPIC: optionalStr('The app\'s bundle id (`apns-topic`).'),
  NOTIFY_APNS_ENDPOINT: url(
    'APNs origin. Unset: `https://api.push.apple.com`; development builds use `https://api.sandbox.push.apple.com`.',
    ['https:', 'http:'],
  ),
  NOTIFY_SMS_BASE_URL: url('Twilio-compatible API origin. Unset: `https://api.twilio.com`.', ['https:', 'http:']),
  NOTIFY_SMS_ACCOUNT_SID: optionalStr('Account SID of the SMS API; the SMS channel is on when the SID, token and sender are set.'),
  NOTIFY_SMS_AUTH_TOKEN: optionalStr('Auth token of the SMS API (never logged).'),
  NOTIFY_SMS_FROM: optionalStr('SMS sender: an E.164 number or a Messaging Service SID (`MG…`).'),
  NOTIFY_DEFAULT_LOCALE: str('Locale (BCP 47) of recipients created without one, and the last step of template locale fallback.', 'en'),
  NOTIFY_DEFAULT_TIME_ZONE: str('IANA time zone of recipients created without one (their quiet hours are read in it).', 'UTC'),
  NOTIFY_CONFIG_CACHE_MS: int('With Redis on PostgreSQL (scale-out), the longest a process keeps recipients, categories, preferences and templates cached; changes made through another process reach it sooner, by announcement over Redis (ms; 0: no cache).', 5000, { min: 0, max: 3_600_000 }),
  NOTIFY_TEMPLATE_RENDER_MS: int('Longest a template may render before it fails with TEMPLATE_RENDER_LIMIT (ms).', 100, { min: 1, max: 10_000 }),
  QUEUE: oneOf(
    'Durable queue of notification deliveries: `sqlite` (a table in the SQLite database; PostgreSQL has none) or `bullmq` (BullMQ on REDIS_URL, which it needs; any database). See docs/patterns/queue.md.',
    'sqlite',
    ['sqlite', 'bullmq'],
  ),
  QUEUE_REDIS_PREFIX: str('With QUEUE=bullmq, the BullMQ key prefix: jobs live under `<prefix>:notify.<channel>:…`.', 'tny'),
  NOTIFY_WORKERS: int('Deliveries in flight per channel in this process (0: this process queues but does not deliver). Providers answer in milliseconds, so more in flight overlap their round trips and share commits; each one in flight at a crash may be sent twice.', 16, { min: 0, max: 256 }),
  NOTIFY_MAX_ATTEMPTS: int('Tries per delivery before it is dead (GET /api/v1/deliveries?status=dead).', 5, { min: 1, max: 100 }),
  NOTIFY_SEND_TIMEOUT_MS: int('Longest one provider call may take before it counts as a retryable failure (ms).', 10_000, { min: 100, max: 120_000 }),
  NOTIFY_LEASE_MS: int('Queue lease and ledger claim of one delivery; a claim older than this is sent again after a crash (ms).', 30_000, { min: 1000, max: 600_000 }),
  NOTIFY_RETRY_BASE_MS: int('First retry delay of a failed delivery; it doubles per attempt (equal jitter, capped at 10 min) unless the provider sent Retry-After (ms).', 1000, { min: 1, max: 600_000 }),
  NOTIFY_BREAKER_FAILURES: int("Consecutive failed provider calls that open a channel's circuit breaker (its calls are then refused without reaching the provider).", 5, { min: 1, max: 1000 }),
  NOTIFY_BREAKER_OPEN_MS: int(
    'How long an open breaker refuses calls before one probe goes through; each failed probe doubles it, up to NOTIFY_BREAKER_MAX_OPEN_MS (ms).',
    30_000,
    { min: 100, max: 3_600_000 },
  ),
  NOTIFY_BREAKER_MAX_OPEN_MS: int('Longest open time between probes of a failing provider; at least NOTIFY_BREAKER_OPEN_MS (ms).', 300_000, { min: 100, max: 86_400_000 }),
  NOTIFY_BREAKER_FALLBACK_MS: int("How long a delivery waits on a channel's open circuit breaker before it falls back to the next channel (ms).", 300_000, { min: 0, max: 86_400_000 }),
} as const;

export type Registry = typeof registry;
