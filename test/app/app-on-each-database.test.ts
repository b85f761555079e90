import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';

/**
 * The whole app on each engine: SQLite, and PostgreSQL (DATABASE_URL) in a database made for
 * this run. The same repositories, migrations and use cases serve both.
 */
const adminUrl = process.env.DATABASE_URL_TEST;

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

type Engine = 'sqlite' | 'postgres';

const engines: Engine[] = ['sqlite'];
if (adminUrl) engines.push('postgres');
else if (process.env.TNY_REQUIRE_SERVICES === '1') {
  describe('tny on PostgreSQL', () => {
    it('has a PostgreSQL to run against', () => {
      throw new Error('DATABASE_URL_TEST is not set but TNY_REQUIRE_SERVICES=1');
    });
  });
} else {
  console.warn('[tny] DATABASE_URL_TEST not set: the app suite runs on SQLite only');
}

describe.each(engines)('tny on %s', (engine) => {
  const name = `tny_app_${randomBytes(5).toString('hex')}`;
  let t: TestApp;

  beforeAll(async () => {
    if (engine === 'sqlite') {
      t = await makeTestApp();
      return;
    }
    await admin((c) => c.query(`CREATE DATABASE ${name}`));
    const url = new URL(adminUrl!);
    url.pathname = `/${name}`;
    t = await makeTestApp({ DATABASE_URL: url.toString() });
  });

  afterAll(async () => {
    await t?.close();
    if (engine === 'postgres') await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  });

  it('reports its engine in the detailed health check', async () => {
    const res = await t.call('GET', '/health/detailed');
    expect(res.statusCode).toBe(200);
    expect(res.json().checks.database.engine).toBe(engine);
  });

  it('creates, lists, redirects, counts and deletes links', async () => {
    const user = await t.newAccountKey('pg-user');
    const made = [];
    for (let i = 0; i < 5; i++) {
      const res = await t.call('POST', '/api/v1/links', {
        key: user,
        body: { url: `https://example.com/${i}`, tags: i % 2 ? ['odd'] : ['even'] },
      });
      expect(res.statusCode).toBe(201);
      made.push(res.json().data.key as string);
    }
    const odd = await t.call('GET', '/api/v1/links?tag=odd&order=asc', { key: user });
    expect(odd.json().data.map((l: { key: string }) => l.key)).toEqual([made[1], made[3]]);

    const page1 = await t.call('GET', '/api/v1/links?limit=3', { key: user });
    const page2 = await t.call('GET', `/api/v1/links?limit=3&cursor=${page1.json().pagination.next_cursor}`, { key: user });
    const listed = [...page1.json().data, ...page2.json().data].map((l: { key: string }) => l.key);
    expect(listed.sort()).toEqual([...made].sort());
    expect(page2.json().pagination.next_cursor).toBeNull();

    for (let i = 0; i < 3; i++) {
      const hop = await t.call('GET', `/${made[0]}`, { headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0' } });
      expect(hop.statusCode).toBe(301);
    }
    await t.container.shortener.recorder.flush();
    const link = await t.call('GET', `/api/v1/links/${made[0]}`, { key: user });
    expect(link.json().data.click_count).toBe(3);
    const stats = await t.call('GET', `/api/v1/links/${made[0]}/stats`, { key: user });
    expect(stats.json().data.browsers).toEqual([{ browser: 'Firefox', clicks: 3 }]);

    expect((await t.call('DELETE', `/api/v1/links/${made[0]}`, { key: user })).statusCode).toBe(204);
    expect((await t.call('GET', `/${made[0]}`)).statusCode).toBe(404);
  });

  it('keeps max_clicks exact under concurrent redirects', async () => {
    const res = await t.call('POST', '/api/v1/links', { key: t.adminKey, body: { url: 'https://example.com/limited', max_clicks: 7 } });
    const key = res.json().data.key as string;
    const codes = await Promise.all(Array.from({ length: 40 }, () => t.call('GET', `/${key}`).then((r) => r.statusCode)));
    expect(codes.filter((c) => c === 301)).toHaveLength(7);
    expect(codes.filter((c) => c === 410)).toHaveLength(33);
  });
});
