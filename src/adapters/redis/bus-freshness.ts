import type { Redis } from 'ioredis';
import type { CacheFreshness } from '../../notifier/cached-stores.js';
import { InvalidationBus } from '../../platform/cache/invalidation-bus.js';

/**
 * Freshness across processes (scale-out): a write through one process's cached stores is
 * announced on the invalidation bus (numbered Redis pub/sub, the link cache's); every other
 * process marks its cache dirty when the message arrives, and also on a gap (a reconnect or a
 * skipped number: messages may have been lost). An announcement Redis did not take is retried
 * by the bus. What another process sees between the write and the message's arrival (ms) is
 * the old configuration; `maxAgeMs` on the cache bounds how long a lost message could matter.
 */
export async function busFreshness(commands: Redis, subscriber: Redis, prefix: string, onError?: (err: unknown) => void): Promise<CacheFreshness & { close(): Promise<void> }> {
  let dirty = false;
  const bus = new InvalidationBus({
    redis: commands,
    subscriber,
    channel: `${prefix}notifier-config`,
    seqKey: `${prefix}notifier-config:seq`,
    onKey: () => {
      dirty = true;
    },
    onGap: () => {
      dirty = true;
      void bus.resync().catch(() => undefined);
    },
    ...(onError ? { onError } : {}),
  });
  await bus.start();
  return {
    changedElsewhere() {
      if (!dirty) return false;
      dirty = false;
      return true;
    },
    announce() {
      void bus.publish('config');
    },
    close: () => bus.close(),
  };
}
