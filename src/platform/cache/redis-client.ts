import { createHash } from 'node:crypto';

/**
 * The few Redis commands the cache uses, typed structurally so platform code does not depend
 * on a driver: an ioredis client satisfies it.
 */
export interface RedisCommands {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, px: 'PX', ttlMs: number): Promise<unknown>;
  del(...keys: string[]): Promise<number>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/** A connection in subscriber mode (ioredis: a `duplicate()` of the command client). */
export interface RedisSubscriber {
  /** ioredis: 'wait' until connect() is called on a lazy client. */
  readonly status: string;
  connect(): Promise<void>;
  subscribe(channel: string): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'ready' | 'error', listener: (err?: unknown) => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
}

/**
 * A Lua script run with EVALSHA (only the hash travels), falling back to EVAL once when the
 * server does not know it yet (NOSCRIPT: first use, restart, SCRIPT FLUSH). Scripts are atomic:
 * no other command runs between their steps.
 */
export class RedisScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: RedisCommands, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
