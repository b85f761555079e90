import type { LocalCache } from '../cache/local-cache.js';
import type { Actor } from './actor.js';
import { parseApiKey, secretMatches } from './api-key.js';
import type { AccountStore } from './ports.js';

interface KnownKey {
  hash: string;
  actor: Actor | null;
}

/**
 * Turns a presented API key into an Actor. Records are cached for a few seconds so the API
 * does not read the database on every request; a revocation made in this process applies at
 * once, one made elsewhere (CLI, another process) within the cache TTL.
 */
export class Authenticator {
  constructor(
    private readonly store: AccountStore,
    private readonly cache: LocalCache<KnownKey>,
    private readonly ttlMs: number,
  ) {}

  async authenticate(token: string | undefined): Promise<Actor | undefined> {
    if (!token) return undefined;
    const parsed = parseApiKey(token);
    if (!parsed) return undefined;
    let known = this.ttlMs > 0 ? this.cache.get(parsed.id) : undefined;
    if (!known) {
      const found = await this.store.findKey(parsed.id);
      known = {
        hash: found?.key.keyHash ?? '0'.repeat(64),
        actor:
          found && found.key.revokedAt === null
            ? { accountId: found.account.id, isAdmin: found.account.isAdmin, keyId: found.key.id }
            : null,
      };
      if (this.ttlMs > 0) this.cache.set(parsed.id, known, this.ttlMs);
    }
    // Compare even for unknown ids, so timing does not tell which ids exist.
    const matches = secretMatches(parsed.secret, known.hash);
    return matches && known.actor ? known.actor : undefined;
  }

  forget(keyId: string): void {
    this.cache.delete(keyId);
  }
}
