import { expect, it } from 'vitest';
import { KyselyAccountStore } from '../../src/adapters/sql/kysely-account-store.js';
import type { ApiKeyRecord } from '../../src/platform/auth/ports.js';
import { describeEachDatabase, useFreshDatabase } from '../helpers/databases.js';
import { T0 } from '../helpers/new-link.js';

function keyRecord(id: string, accountId: number, createdAt: number): ApiKeyRecord {
  return { id, accountId, name: `key ${id}`, keyHash: 'a'.repeat(64), createdAt, lastUsedAt: null, revokedAt: null };
}

describeEachDatabase('AccountStore contract', (factory) => {
  const database = useFreshDatabase(factory);
  const store = () => new KyselyAccountStore(database().db);

  it('creates accounts with distinct names and finds them by name and id', async () => {
    expect(await store().countAccounts()).toBe(0);
    const admin = await store().createAccount('admin', true, T0);
    const user = await store().createAccount('user', false, T0 + 1);
    if (admin === 'conflict' || user === 'conflict') throw new Error('unexpected conflict');
    expect(admin).toEqual({ id: admin.id, name: 'admin', isAdmin: true, createdAt: T0 });
    expect(user).toMatchObject({ name: 'user', isAdmin: false, createdAt: T0 + 1 });
    expect(user.id).not.toBe(admin.id);
    expect(await store().createAccount('admin', false, T0 + 2)).toBe('conflict');
    expect(await store().countAccounts()).toBe(2);
    expect(await store().findAccountByName('user')).toEqual(user);
    expect(await store().findAccountById(admin.id)).toEqual(admin);
    expect(await store().findAccountByName('nobody')).toBeUndefined();
    expect(await store().findAccountById(admin.id + user.id + 100)).toBeUndefined();
  });

  it('lets only one of concurrent creations of a name succeed', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store().createAccount('same', i === 0, T0)));
    expect(results.filter((r) => r !== 'conflict')).toHaveLength(1);
    expect(await store().countAccounts()).toBe(1);
  });

  it('creates an account with its first key atomically; a conflict creates no key', async () => {
    const first = { id: 'k1', name: 'first', keyHash: 'b'.repeat(64), createdAt: T0, lastUsedAt: null, revokedAt: null };
    const made = await store().createAccount('admin', true, T0, first);
    if (made === 'conflict') throw new Error('unexpected conflict');
    expect((await store().findKey('k1'))?.account).toEqual(made);
    const again = await store().createAccount('admin', true, T0, { ...first, id: 'k2' });
    expect(again).toBe('conflict');
    expect(await store().findKey('k2')).toBeUndefined();
    // A key that cannot be stored (duplicate id) rolls the account back too.
    expect(await store().createAccount('other', false, T0, first).catch(() => 'failed')).toBe('failed');
    expect(await store().findAccountByName('other')).toBeUndefined();
  });

  it('stores keys with their account, lists them oldest first and revokes once', async () => {
    const alice = await store().createAccount('alice', false, T0);
    const bob = await store().createAccount('bob', true, T0);
    if (alice === 'conflict' || bob === 'conflict') throw new Error('unexpected conflict');
    const k2 = keyRecord('k2', bob.id, T0 + 20);
    const k1 = { ...keyRecord('k1', alice.id, T0 + 10), lastUsedAt: T0 + 15 };
    await store().createKey(k2);
    await store().createKey(k1);

    expect(await store().findKey('k1')).toEqual({ key: k1, account: alice });
    expect(await store().findKey('k2')).toEqual({ key: k2, account: bob });
    expect(await store().findKey('k3')).toBeUndefined();
    expect(await store().listKeys()).toEqual([
      { key: k1, account: alice },
      { key: k2, account: bob },
    ]);

    expect(await store().revokeKey('k1', T0 + 30)).toBe(true);
    expect(await store().revokeKey('k1', T0 + 40)).toBe(false);
    expect(await store().revokeKey('nope', T0 + 40)).toBe(false);
    expect(await store().findKey('k1')).toEqual({ key: { ...k1, revokedAt: T0 + 30 }, account: alice });
    expect((await store().findKey('k2'))?.key.revokedAt).toBeNull();
  });

  it('refuses a second key with the same id', async () => {
    const alice = await store().createAccount('alice', false, T0);
    if (alice === 'conflict') throw new Error('unexpected conflict');
    await store().createKey(keyRecord('same', alice.id, T0));
    await expect(store().createKey(keyRecord('same', alice.id, T0 + 1))).rejects.toThrow();
    expect(await store().listKeys()).toHaveLength(1);
  });
});
