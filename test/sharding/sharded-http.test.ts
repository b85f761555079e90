import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabases, describeSharded, TEST_SHARD_COUNT } from '../helpers/databases.js';
import { createLink, expectData, expectError, fakeClock } from '../http/support.js';

type LinkData = Record<string, any>;

async function countLinks(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query('select count(*) as n from short_urls')).rows[0].n);
  } finally {
    await client.end();
  }
}

describeSharded('Shortener HTTP API on DATABASE_SHARDS', () => {
  const admin = process.env.DATABASE_URL_TEST!;
  let urls: string[] = [];
  let drop = async () => {};
  let t: TestApp;
  let other: TestApp;
  let alice: string;
  beforeAll(async () => {
    ({ urls, drop } = await createTestDatabases(admin, TEST_SHARD_COUNT));
    const env = { DATABASE_SHARDS: urls.join(','), DATABASE_POOL_SIZE: '4' };
    t = await makeTestApp(env, { clock: 'fake' });
    other = await makeTestApp(env); // a second process over the same shards
    alice = await t.newAccountKey('alice');
  }, 60_000);
  afterAll(async () => {
    await other?.close();
    await t?.close();
    await drop();
  });

  it('creates links on every shard, resolves them through another process, and pages them in order', async () => {
    const made: LinkData[] = [];
    for (let i = 0; i < 60; i++) {
      if (i % 4 === 0) fakeClock(t).advance(1000); // four links share each created_at
      made.push(await createLink(t, alice, i % 10 === 0 ? { url: `https://example.com/${i}`, alias: `alias-${i}` } : { url: `https://example.com/${i}` }));
    }
    expect(new Set(made.map((l) => l.key)).size).toBe(60);
    const perShard = await Promise.all(urls.map(countLinks));
    expect(perShard.reduce((a, b) => a + b, 0)).toBe(60);
    for (const n of perShard) expect(n).toBeGreaterThan(5);

    for (const l of made) {
      const res = await other.call('GET', `/${l.key}`);
      expect(res.statusCode, l.key).toBe(301);
      expect(res.headers.location).toBe(l.url);
    }

    const byCreatedDesc = (a: LinkData, b: LinkData) =>
      a.created_at === b.created_at ? (a.key < b.key ? 1 : -1) : a.created_at < b.created_at ? 1 : -1;
    const keys: string[] = [];
    let cursor: string | null = null;
    do {
      const body: any = (await other.call('GET', `/api/v1/links?limit=7${cursor ? `&cursor=${cursor}` : ''}`, { key: alice })).json();
      expect(body.status).toBe('success');
      keys.push(...body.data.map((l: LinkData) => l.key));
      cursor = body.pagination.next_cursor;
    } while (cursor);
    expect(keys).toEqual([...made].sort(byCreatedDesc).map((l) => l.key));
  });

  it('refuses a taken alias, edits and deletes on the owning shard, and counts limited clicks atomically', async () => {
    await createLink(t, alice, { url: 'https://example.com/x', alias: 'taken-one' });
    expectError(await other.call('POST', '/api/v1/links', { key: alice, body: { url: 'https://example.com/y', alias: 'taken-one' } }), 409, 'ALIAS_TAKEN');
    const edited = expectData(await other.call('PATCH', '/api/v1/links/taken-one', { key: alice, body: { url: 'https://example.com/z' } }));
    expect(edited.url).toBe('https://example.com/z');
    expect((await t.call('DELETE', '/api/v1/links/taken-one', { key: alice })).statusCode).toBe(204);
    expectError(await other.call('GET', '/api/v1/links/taken-one', { key: alice }), 404, 'LINK_NOT_FOUND');

    const limited = await createLink(t, alice, { url: 'https://example.com/lim', max_clicks: 5, redirect_status: 302 });
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? t : other).call('GET', `/${limited.key}`)));
    expect(answers.filter((r) => r.statusCode === 302)).toHaveLength(5);
    expect(answers.filter((r) => r.statusCode === 410)).toHaveLength(7);
  });

  it('writes clicks to the link shard and reads its stats there', async () => {
    const link = await createLink(t, alice, { url: 'https://example.com/stats', redirect_status: 302 });
    for (let i = 0; i < 4; i++) expect((await t.call('GET', `/${link.key}`, { headers: { referer: 'https://news.example/a' } })).statusCode).toBe(302);
    await t.container.shortener.recorder.flush();
    const day = new Date(t.clock.now()).toISOString().slice(0, 10);
    const stats = expectData(await other.call('GET', `/api/v1/links/${link.key}/stats?from=${day}&to=${day}`, { key: alice }));
    expect(stats.total).toBe(4);
    expect(stats.click_count).toBe(4);
    expect(expectData(await other.call('GET', `/api/v1/links/${link.key}`, { key: alice })).click_count).toBe(4);
  });

  it('reports every shard in /health/detailed', async () => {
    const res = await t.call('GET', '/health/detailed', { key: t.adminKey });
    const body = res.json();
    const checks = body.checks ?? body.data?.checks;
    for (let i = 0; i < TEST_SHARD_COUNT; i++) {
      expect(checks[`database:s${i}`]).toMatchObject({ status: 'healthy', shard: `s${i}`, engine: 'postgres' });
      expect(checks[`database:s${i}`].key_share).toBeGreaterThan(0.2);
      expect(checks[`database:s${i}`].url).toContain(':***@'); // URL shown, password never
      expect(JSON.stringify(checks)).not.toContain('sekret');
    }
  });
});
