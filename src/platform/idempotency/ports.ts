/**
 * Storage for `Idempotency-Key` replays. A key is first reserved (pending) before the work
 * runs, so two concurrent requests with the same key cannot both create something.
 */
export type IdempotencyBegin =
  | { state: 'new' }
  | { state: 'pending'; sameRequest: boolean }
  | { state: 'done'; sameRequest: boolean; statusCode: number; response: string };

export interface IdempotencyStore {
  /**
   * Reserves (scope, key) for a request whose body hashes to `requestHash`, or reports what
   * is already there. An expired entry counts as absent and is replaced.
   */
  begin(scope: string, key: string, requestHash: string, now: number, ttlMs: number): Promise<IdempotencyBegin>;
  /** Stores the answer to replay. */
  complete(scope: string, key: string, statusCode: number, response: string): Promise<void>;
  /** Drops a reservation whose request failed, so the client may retry with the same key. */
  abandon(scope: string, key: string): Promise<void>;
  /** Deletes expired entries; returns how many. */
  purgeExpired(now: number): Promise<number>;
}
