import type { Clock } from '../clock.js';
import type { Stamped } from './cache.js';
import { MemoryLease } from './lease.js';

/** What one atomic look at the shared tier found. */
export type Probe<V> =
  | { kind: 'hit'; entry: Stamped<V> }
  /** Missing, and the lease to load it is now the caller's. */
  | { kind: 'leased'; token: string }
  /** Missing, and another caller (maybe in another process) holds the lease: wait for it. */
  | { kind: 'busy' };

/**
 * The shared tier as the stampede guard needs it: entries and their leases, changed only in
 * atomic steps (Redis: one Lua script each), so a look-and-lease cannot interleave with
 * another process's.
 */
export interface GuardStore<V> {
  /** The entry if present; else the lease if free; else busy. */
  probe(key: string, leaseTtlMs: number): Promise<Probe<V>>;
  /** The lease alone (to refresh an entry that is still there); null when held. */
  acquire(key: string, leaseTtlMs: number): Promise<string | null>;
  /**
   * Stores `entry` for `ttlMs` only if `token` still holds the key's lease, and frees the
   * lease. False when the lease was lost (expired, or the key was invalidated meanwhile):
   * nothing is stored, so a load that an edit overtook never lands in the shared tier.
   */
  commit(key: string, token: string, entry: Stamped<V>, ttlMs: number): Promise<boolean>;
  /** Frees the lease without storing (the load failed). */
  release(key: string, token: string): Promise<void>;
  /** Removes the entry and any lease on it. */
  invalidate(key: string): Promise<void>;
}

/** A GuardStore in process memory on an injected clock: for tests and single-process use. */
export class MemoryGuardStore<V> implements GuardStore<V> {
  private readonly entries = new Map<string, { entry: Stamped<V>; until: number }>();
  private readonly leases: MemoryLease;

  constructor(private readonly clock: Clock) {
    this.leases = new MemoryLease(clock);
  }

  async probe(key: string, leaseTtlMs: number): Promise<Probe<V>> {
    const held = this.entries.get(key);
    if (held && held.until > this.clock.now()) return { kind: 'hit', entry: held.entry };
    const token = this.leases.tryAcquire(key, leaseTtlMs);
    return token === null ? { kind: 'busy' } : { kind: 'leased', token };
  }

  async acquire(key: string, leaseTtlMs: number): Promise<string | null> {
    return this.leases.tryAcquire(key, leaseTtlMs);
  }

  async commit(key: string, token: string, entry: Stamped<V>, ttlMs: number): Promise<boolean> {
    if (!this.leases.holds(key, token)) return false;
    this.entries.set(key, { entry, until: this.clock.now() + ttlMs });
    this.leases.revoke(key);
    return true;
  }

  async release(key: string, token: string): Promise<void> {
    await this.leases.release(key, token);
  }

  async invalidate(key: string): Promise<void> {
    this.entries.delete(key);
    this.leases.revoke(key);
  }

  /** Puts an entry directly (tests: a value another process stored). */
  put(key: string, entry: Stamped<V>, ttlMs: number): void {
    this.entries.set(key, { entry, until: this.clock.now() + ttlMs });
  }
}
