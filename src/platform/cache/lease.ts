import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';

/**
 * A lease: at most one holder per name at a time, for a bounded time. Used so that one process
 * of many loads a missing cache entry while the others wait for it (chapter §4 stampede; defect
 * 3 in DESIGN.md: a per-process lock still lets N servers load N times).
 *
 * The expiry bounds the damage of a holder that crashes or hangs: after `ttlMs` someone else
 * can take the lease. Release is compare-and-delete on the holder's unique token, so a holder
 * whose lease already expired cannot release the next holder's.
 */
export interface Lease {
  /** A token when the lease was free and is now ours for `ttlMs`; null when someone holds it. */
  acquire(name: string, ttlMs: number): Promise<string | null>;
  /** Frees the lease if `token` still holds it; false when it had expired or passed on. */
  release(name: string, token: string): Promise<boolean>;
}

const PROCESS_TOKEN = randomBytes(9).toString('base64url');
let issued = 0;

/**
 * A lease token no other holder has: 72 random bits per process plus a counter. Unique is what
 * compare-and-delete needs (whoever can reach Redis could delete the key anyway), and it costs
 * no random bytes per call: the shared tier takes a token on every miss probe.
 */
export function newLeaseToken(): string {
  return `${PROCESS_TOKEN}.${(++issued).toString(36)}`;
}

/** The in-process lease, on an injected clock (tests, and a single process without Redis). */
export class MemoryLease implements Lease {
  private readonly held = new Map<string, { token: string; until: number }>();

  constructor(private readonly clock: Clock) {}

  async acquire(name: string, ttlMs: number): Promise<string | null> {
    return this.tryAcquire(name, ttlMs);
  }

  async release(name: string, token: string): Promise<boolean> {
    if (!this.holds(name, token)) return false;
    this.held.delete(name);
    return true;
  }

  /** Synchronous acquire (memory stores build their atomic steps from it). */
  tryAcquire(name: string, ttlMs: number): string | null {
    const current = this.held.get(name);
    if (current && current.until > this.clock.now()) return null;
    const token = newLeaseToken();
    this.held.set(name, { token, until: this.clock.now() + ttlMs });
    return token;
  }

  holds(name: string, token: string): boolean {
    const current = this.held.get(name);
    return current !== undefined && current.token === token && current.until > this.clock.now();
  }

  /** Drops whatever lease `name` has (an invalidation cancels a fill in progress). */
  revoke(name: string): void {
    this.held.delete(name);
  }
}
