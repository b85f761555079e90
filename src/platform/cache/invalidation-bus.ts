import { randomBytes } from 'node:crypto';
import { RedisScript, type RedisCommands, type RedisSubscriber } from './redis-client.js';

/**
 * Deletes the shared-tier keys of a change, numbers the change and announces it, in one
 * atomic step: every subscriber sees the numbers in order, and a number nobody announced
 * cannot exist. KEYS[1] = counter, KEYS[2..] = keys to delete; ARGV = channel, origin, key.
 */
const PUBLISH = new RedisScript(`
for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
local n = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], n .. ' ' .. ARGV[2] .. ' ' .. ARGV[3])
return n`);

export interface InvalidationBusOptions {
  redis: RedisCommands;
  /** A connection of its own (pub/sub mode cannot run other commands): ioredis `duplicate()`. */
  subscriber: RedisSubscriber;
  channel: string;
  /** The counter numbering the messages (a Redis key). */
  seqKey: string;
  /** Another process changed `key` (own messages are counted but not handed here). */
  onKey(key: string): void;
  /**
   * Messages may have been missed (the subscriber reconnected, or a number was skipped).
   * Whatever relies on having seen every message (the L1 entries, the Bloom filter) must be
   * rebuilt, and resync() called as part of that.
   */
  onGap(): void;
  onError?(err: unknown): void;
  /** How often changes that could not be announced (Redis unreachable) are retried. Default 1000. */
  retryMs?: number;
  /** Most distinct keys kept for retry; beyond it new ones are dropped (and counted). Default 100,000. */
  maxRetryKeys?: number;
}

export interface InvalidationBusStats {
  published: number;
  received: number;
  /** The highest number up to which every message has been seen, or null while unsure. */
  applied: number | null;
  gaps: number;
  publishFailures: number;
  pendingRetries: number;
  droppedRetries: number;
}

type SyncState = { kind: 'live'; applied: number } | { kind: 'syncing'; seen: number[] } | { kind: 'gap' };

/**
 * L1 invalidation across processes over Redis pub/sub (chapter §4 consistency). A change is
 * published after the database write; every other process drops its L1 entry when the
 * message arrives (typically well under a millisecond later on a LAN).
 *
 * Pub/sub is fire-and-forget: a subscriber that is disconnected misses messages. So every
 * message carries a number from a Redis counter, and each process tracks the highest number up
 * to which it has seen every message. A skipped number or a reconnect is a gap: the owner clears
 * what it cannot trust and resyncs. `isCurrent(latest)` tells whether this process has seen
 * every change up to a counter value read after some event (the Bloom filter uses it so a key
 * created by another process a moment ago is never refused).
 *
 * A change that cannot be announced (Redis unreachable) is retried every retryMs until it gets
 * through; until then other processes may serve their cached copy (bounded by the L1 TTL).
 */
export class InvalidationBus {
  readonly origin = randomBytes(6).toString('base64url');
  private state: SyncState = { kind: 'syncing', seen: [] };
  private started = false;
  private closed = false;
  private latestQueued: Promise<number> | undefined;
  private readonly retry = new Map<string, string[]>();
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly counters = { published: 0, received: 0, gaps: 0, publishFailures: 0, droppedRetries: 0 };

  constructor(private readonly options: InvalidationBusOptions) {}

  /** Connects the subscriber and reads the counter; messages are handled from then on. */
  async start(): Promise<void> {
    const sub = this.options.subscriber;
    sub.on('error', () => undefined); // connection errors surface as a reconnect (a gap)
    sub.on('message', (channel, message) => {
      if (channel === this.options.channel) this.onMessage(message);
    });
    sub.on('ready', () => {
      if (!this.started || this.closed) return;
      // Reconnected: what was published meanwhile is lost. ioredis resubscribes by itself;
      // subscribing once more waits until that is done, so the owner's resync (which reads
      // the counter) cannot run before messages flow again.
      this.state = { kind: 'gap' };
      const resubscribed = () => this.gap();
      sub.subscribe(this.options.channel).then(resubscribed, resubscribed);
    });
    if (sub.status === 'wait') await sub.connect();
    await sub.subscribe(this.options.channel);
    this.started = true;
    await this.resync();
    this.retryTimer = setInterval(() => void this.retryFailed(), this.options.retryMs ?? 1000);
    this.retryTimer.unref();
  }

  /**
   * Reads the counter and tracks from it: every change numbered up to it is already in the
   * source of truth, so a rebuild that reads the source after this call misses none of them.
   */
  async resync(): Promise<void> {
    this.state = { kind: 'syncing', seen: [] };
    const base = Number((await this.options.redis.get(this.options.seqKey)) ?? 0);
    if (this.state.kind !== 'syncing') return; // a gap came meanwhile: the owner resyncs again
    let applied = base;
    for (const n of this.state.seen.sort((a, b) => a - b)) if (n === applied + 1) applied = n;
    this.state = { kind: 'live', applied };
  }

  /**
   * Deletes `redisKeys` (the shared-tier entries of `key`) and tells every process that `key`
   * changed. Never rejects: on failure the change is retried in the background.
   */
  async publish(key: string, redisKeys: readonly string[] = []): Promise<void> {
    try {
      await this.send(key, redisKeys);
    } catch (err) {
      this.counters.publishFailures++;
      this.options.onError?.(err);
      if (this.retry.has(key) || this.retry.size < (this.options.maxRetryKeys ?? 100_000)) this.retry.set(key, [...redisKeys]);
      else this.counters.droppedRetries++;
    }
  }

  /**
   * The counter now, read after this call (concurrent callers share one read sent after all of
   * them asked, so a change announced before any of them asked is counted).
   */
  latest(): Promise<number> {
    this.latestQueued ??= new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      this.latestQueued = undefined;
      return Number((await this.options.redis.get(this.options.seqKey)) ?? 0);
    });
    return this.latestQueued;
  }

  /** True when every change numbered up to `latest` has been received here. */
  isCurrent(latest: number): boolean {
    return this.state.kind === 'live' && latest <= this.state.applied;
  }

  stats(): InvalidationBusStats {
    return {
      ...this.counters,
      applied: this.state.kind === 'live' ? this.state.applied : null,
      pendingRetries: this.retry.size,
    };
  }

  /** Stops retrying (one last attempt first) and closes the subscriber connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.retryTimer);
    await this.retryFailed();
    await this.options.subscriber.quit().catch(() => this.options.subscriber.disconnect());
  }

  private async send(key: string, redisKeys: readonly string[]): Promise<void> {
    await PUBLISH.run(this.options.redis, [this.options.seqKey, ...redisKeys], [this.options.channel, this.origin, key]);
    this.counters.published++;
  }

  private async retryFailed(): Promise<void> {
    for (const [key, redisKeys] of [...this.retry]) {
      try {
        await this.send(key, redisKeys);
        if (this.retry.get(key) === redisKeys) this.retry.delete(key);
      } catch {
        return; // still unreachable: the next tick tries again
      }
    }
  }

  private onMessage(message: string): void {
    const first = message.indexOf(' ');
    const second = message.indexOf(' ', first + 1);
    const n = Number(message.slice(0, first));
    if (first < 0 || second < 0 || !Number.isSafeInteger(n)) return;
    this.counters.received++;
    const origin = message.slice(first + 1, second);
    const key = message.slice(second + 1);
    const s = this.state;
    if (s.kind === 'syncing') s.seen.push(n);
    else if (s.kind === 'live') {
      if (n === s.applied + 1) s.applied = n;
      else if (n > s.applied + 1) this.gap();
    }
    if (origin !== this.origin) this.options.onKey(key);
  }

  private gap(): void {
    this.counters.gaps++;
    this.state = { kind: 'gap' };
    this.options.onGap();
  }
}
