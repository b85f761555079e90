import { expect, it } from 'vitest';
import { KyselyIdempotencyStore } from '../../src/adapters/sql/kysely-idempotency-store.js';
import { describeEachDatabase, useFreshDatabase } from '../helpers/databases.js';
import { T0 } from '../helpers/new-link.js';

const TTL = 60_000;

describeEachDatabase('IdempotencyStore contract', (factory) => {
  const database = useFreshDatabase(factory);
  const store = () => new KyselyIdempotencyStore(database().db);

  it('reserves a key, reports it pending, then replays the stored answer', async () => {
    expect(await store().begin('links', 'k', 'h1', T0, TTL)).toEqual({ state: 'new' });
    expect(await store().begin('links', 'k', 'h1', T0 + 1, TTL)).toEqual({ state: 'pending', sameRequest: true });
    expect(await store().begin('links', 'k', 'h2', T0 + 1, TTL)).toEqual({ state: 'pending', sameRequest: false });
    await store().complete('links', 'k', 201, '{"id":1}');
    expect(await store().begin('links', 'k', 'h1', T0 + 2, TTL)).toEqual({ state: 'done', sameRequest: true, statusCode: 201, response: '{"id":1}' });
    expect(await store().begin('links', 'k', 'h2', T0 + 2, TTL)).toEqual({ state: 'done', sameRequest: false, statusCode: 201, response: '{"id":1}' });
    // Scopes are separate namespaces.
    expect(await store().begin('other', 'k', 'h1', T0 + 2, TTL)).toEqual({ state: 'new' });
  });

  it('treats an expired entry as absent and replaces it', async () => {
    await store().begin('s', 'k', 'old', T0, TTL);
    await store().complete('s', 'k', 200, 'old answer');
    expect((await store().begin('s', 'k', 'old', T0 + TTL - 1, TTL)).state).toBe('done');
    expect(await store().begin('s', 'k', 'new', T0 + TTL, TTL)).toEqual({ state: 'new' });
    expect(await store().begin('s', 'k', 'new', T0 + TTL + 1, TTL)).toEqual({ state: 'pending', sameRequest: true });
  });

  it('abandons a pending reservation so the key can be used again, but keeps a completed one', async () => {
    await store().begin('s', 'p', 'h', T0, TTL);
    await store().abandon('s', 'p');
    expect(await store().begin('s', 'p', 'h', T0 + 1, TTL)).toEqual({ state: 'new' });

    await store().begin('s', 'c', 'h', T0, TTL);
    await store().complete('s', 'c', 200, 'kept');
    await store().abandon('s', 'c');
    expect(await store().begin('s', 'c', 'h', T0 + 1, TTL)).toMatchObject({ state: 'done', response: 'kept' });
  });

  it('purges only expired entries and says how many', async () => {
    await store().begin('s', 'a', 'h', T0, 1_000);
    await store().begin('s', 'b', 'h', T0, 2_000);
    await store().begin('s', 'c', 'h', T0, 5_000);
    expect(await store().purgeExpired(T0 + 2_000)).toBe(2);
    expect(await store().purgeExpired(T0 + 2_000)).toBe(0);
    expect((await store().begin('s', 'c', 'h', T0 + 2_000, 5_000)).state).toBe('pending');
    expect((await store().begin('s', 'a', 'h', T0 + 2_000, 5_000)).state).toBe('new');
  });

  it('gives exactly one of 10 concurrent begins the reservation, across connections', async () => {
    const other = new KyselyIdempotencyStore((await database().connectAgain()).db);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? other : store()).begin('race', 'k', 'h', T0, TTL)),
    );
    expect(results.filter((r) => r.state === 'new')).toHaveLength(1);
    expect(results.filter((r) => r.state === 'pending')).toHaveLength(9);
  });

  it('gives exactly one of 10 concurrent begins the reservation when replacing an expired entry', async () => {
    await store().begin('race', 'old', 'h', T0, TTL);
    await store().complete('race', 'old', 200, 'stale');
    const other = new KyselyIdempotencyStore((await database().connectAgain()).db);
    const later = T0 + TTL + 5;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? other : store()).begin('race', 'old', 'h', later, TTL)),
    );
    expect(results.filter((r) => r.state === 'new')).toHaveLength(1);
    expect(results.filter((r) => r.state === 'pending')).toHaveLength(9);
  });
});
