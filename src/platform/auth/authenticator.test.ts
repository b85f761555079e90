import { describe, expect, it } from 'vitest';
import { LocalCache } from '../cache/local-cache.js';
import { FakeClock } from '../clock.js';
import { generateApiKey, parseApiKey, secretMatches } from './api-key.js';
import { Authenticator } from './authenticator.js';
import { createKey, ensureAdminKey } from './manage-keys.js';
import type { Account, AccountStore, ApiKeyRecord } from './ports.js';

/** An in-memory AccountStore, enough to test the authenticator's own logic. */
class MemoryAccounts implements AccountStore {
  accounts: Account[] = [];
  keys: ApiKeyRecord[] = [];
  reads = 0;
  async createAccount(name: string, isAdmin: boolean, now: number, firstKey?: Omit<ApiKeyRecord, 'accountId'>) {
    if (this.accounts.some((a) => a.name === name)) return 'conflict' as const;
    const a = { id: this.accounts.length + 1, name, isAdmin, createdAt: now };
    this.accounts.push(a);
    if (firstKey) this.keys.push({ ...firstKey, accountId: a.id });
    return a;
  }
  async findAccountByName(name: string) {
    return this.accounts.find((a) => a.name === name);
  }
  async findAccountById(id: number) {
    return this.accounts.find((a) => a.id === id);
  }
  async countAccounts() {
    return this.accounts.length;
  }
  async createKey(key: ApiKeyRecord) {
    this.keys.push(key);
  }
  async findKey(id: string) {
    this.reads++;
    const key = this.keys.find((k) => k.id === id);
    const account = key && this.accounts.find((a) => a.id === key.accountId);
    return key && account ? { key, account } : undefined;
  }
  async listKeys() {
    return this.keys.map((key) => ({ key, account: this.accounts.find((a) => a.id === key.accountId)! }));
  }
  async revokeKey(id: string, now: number) {
    const k = this.keys.find((x) => x.id === id && x.revokedAt === null);
    if (!k) return false;
    k.revokedAt = now;
    return true;
  }
}

describe('API keys', () => {
  it('have the documented shape, parse back, and match only their own secret', () => {
    const k = generateApiKey();
    expect(k.token).toMatch(/^tny_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}$/);
    const parsed = parseApiKey(k.token)!;
    expect(parsed.id).toBe(k.id);
    expect(secretMatches(parsed.secret, k.hash)).toBe(true);
    const last = parsed.secret.slice(-1);
    expect(secretMatches(`${parsed.secret.slice(0, -1)}${last === "x" ? "y" : "x"}`, k.hash)).toBe(false);
    expect(k.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(k.hash).not.toContain(parsed.secret);
  });

  it.each(['', 'tny_', 'Bearer x', `tny_${'a'.repeat(12)}_${'b'.repeat(31)}`, `xyz_${'a'.repeat(12)}_${'b'.repeat(32)}`])(
    'refuses malformed %s',
    (token) => expect(parseApiKey(token)).toBeUndefined(),
  );
});

describe('Authenticator', () => {
  async function setup(ttlMs = 5_000) {
    const store = new MemoryAccounts();
    const clock = new FakeClock();
    const auth = new Authenticator(store, new LocalCache({ max: 100, clock }), ttlMs);
    const adminToken = (await ensureAdminKey(store, clock.now()))!;
    const user = await createKey(store, { name: 'user' }, clock.now());
    return { store, clock, auth, adminToken, user };
  }

  it('maps keys to their account and admin flag', async () => {
    const { auth, adminToken, user } = await setup();
    expect(await auth.authenticate(adminToken)).toMatchObject({ isAdmin: true, accountId: 1 });
    expect(await auth.authenticate(user.token)).toMatchObject({ isAdmin: false, accountId: user.account.id, keyId: user.key.id });
  });

  it('refuses unknown ids, wrong secrets and nothing at all', async () => {
    const { auth, user } = await setup();
    const wrong = user.token.slice(0, -1) + (user.token.endsWith('a') ? 'b' : 'a');
    expect(await auth.authenticate(wrong)).toBeUndefined();
    expect(await auth.authenticate(generateApiKey().token)).toBeUndefined();
    expect(await auth.authenticate(undefined)).toBeUndefined();
  });

  it('reads a key once per TTL, and sees a revocation made elsewhere after it', async () => {
    const { auth, store, clock, user } = await setup(5_000);
    await auth.authenticate(user.token);
    await auth.authenticate(user.token);
    expect(store.reads).toBe(1);
    await store.revokeKey(user.key.id, clock.now());
    expect(await auth.authenticate(user.token)).toBeDefined();
    clock.advance(5_001);
    expect(await auth.authenticate(user.token)).toBeUndefined();
  });

  it('forgets a key at once when told (revocation in this process)', async () => {
    const { auth, store, clock, user } = await setup(60_000);
    await auth.authenticate(user.token);
    await store.revokeKey(user.key.id, clock.now());
    auth.forget(user.key.id);
    expect(await auth.authenticate(user.token)).toBeUndefined();
  });
});

describe('key management', () => {
  it('adds keys to an existing account, refuses a taken account name and an unknown account', async () => {
    const store = new MemoryAccounts();
    const a = await createKey(store, { name: 'team' }, 0);
    const b = await createKey(store, { name: 'ci', accountName: 'team' }, 0);
    expect(b.account.id).toBe(a.account.id);
    await expect(createKey(store, { name: 'team' }, 0)).rejects.toMatchObject({ code: 'ACCOUNT_EXISTS' });
    await expect(createKey(store, { name: 'x', accountName: 'nope' }, 0)).rejects.toMatchObject({ code: 'ACCOUNT_NOT_FOUND' });
  });

  it('makes the admin key only once', async () => {
    const store = new MemoryAccounts();
    expect(await ensureAdminKey(store, 0)).toMatch(/^tny_/);
    expect(await ensureAdminKey(store, 0)).toBeUndefined();
    expect(store.keys).toHaveLength(1);
  });
});
