import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabases, describeSharded, TEST_SHARD_COUNT } from '../helpers/databases.js';
import { expectData, expectError } from '../http/support.js';

async function rows(url: string, query: string): Promise<Record<string, string>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Record<string, string>>(query)).rows;
  } finally {
    await client.end();
  }
}

/** The recipients API of a whole app (container wiring) on DATABASE_SHARDS: data by recipient, read by another process. */
describeSharded('Notifier recipients API on DATABASE_SHARDS', () => {
  const admin = process.env.DATABASE_URL_TEST!;
  let urls: string[] = [];
  let drop = async () => {};
  let t: TestApp;
  let other: TestApp;
  let alice: string;
  beforeAll(async () => {
    ({ urls, drop } = await createTestDatabases(admin, TEST_SHARD_COUNT));
    const env = { DATABASE_SHARDS: urls.join(','), DATABASE_POOL_SIZE: '4' };
    t = await makeTestApp(env);
    other = await makeTestApp(env); // a second process over the same shards
    alice = await t.newAccountKey('alice');
  }, 60_000);
  afterAll(async () => {
    await other?.close();
    await t?.close();
    await drop();
  });

  it('spreads recipients with their contact points and preferences over the shards; another process reads and pages them', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `user-${String(i).padStart(2, '0')}`);
    for (const id of ids) {
      expectData(await t.call('POST', '/api/v1/recipients', { key: alice, body: { id, contacts: [{ kind: 'email', address: `${id}@example.com` }] } }), 201);
      expectData(await t.call('PUT', `/api/v1/recipients/${id}/preferences`, { key: alice, body: { opt_out: true } }));
    }
    const perShard = await Promise.all(
      urls.map(async (u) => {
        const [r, c, p] = await Promise.all(['notifier_recipients', 'notifier_contact_points', 'notifier_preferences'].map((table) => rows(u, `select count(*) as n from ${table}`)));
        return [Number(r![0]!.n), Number(c![0]!.n), Number(p![0]!.n)];
      }),
    );
    for (const [r, c, p] of perShard) {
      expect(r).toBeGreaterThan(0);
      expect([c, p]).toEqual([r, r]); // each recipient's contact point and preferences on its shard
    }
    expect(perShard.reduce((n, [r]) => n + r!, 0)).toBe(30);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await other.call('GET', `/api/v1/recipients?limit=7${cursor ? `&cursor=${cursor}` : ''}`, { key: alice });
      const body = JSON.parse(res.body) as { data: { id: string; contacts: { address: string }[] }[]; pagination: { next_cursor: string | null } };
      expect(res.statusCode).toBe(200);
      for (const r of body.data) expect(r.contacts.map((c) => c.address)).toEqual([`${r.id}@example.com`]);
      seen.push(...body.data.map((r) => r.id));
      cursor = body.pagination.next_cursor;
    } while (cursor);
    expect(seen).toEqual(ids);

    // Single-recipient calls route to the owner from any process; contact ids name one row.
    const contact = expectData<{ contacts: { id: number }[] }>(await other.call('GET', `/api/v1/recipients/${ids[7]}`, { key: alice })).contacts[0]!;
    expectData(await other.call('PATCH', `/api/v1/recipients/${ids[7]}/contacts/${contact.id}`, { key: alice, body: { valid: false } }));
    expectError(await other.call('PATCH', `/api/v1/recipients/${ids[8]}/contacts/${contact.id}`, { key: alice, body: { valid: false } }), 404, 'CONTACT_POINT_NOT_FOUND');
    expect(expectData<{ opt_out: boolean }>(await t.call('GET', `/api/v1/recipients/${ids[7]}/preferences`, { key: alice })).opt_out).toBe(true);
    expect((await t.call('DELETE', `/api/v1/recipients/${ids[7]}`, { key: alice })).statusCode).toBe(204);
    expectError(await other.call('GET', `/api/v1/recipients/${ids[7]}`, { key: alice }), 404, 'RECIPIENT_NOT_FOUND');
  });
});
