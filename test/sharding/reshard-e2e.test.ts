import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ringOf } from '../../src/adapters/sharding/reshard-plan.js';
import { openShardSet } from '../../src/adapters/sharding/shard-set.js';
import { shardTargets } from '../../src/adapters/sharding/shard-urls.js';
import { ShardedLinkRepository } from '../../src/adapters/sharding/sharded-link-repository.js';
import { assertBuilt, freePort, killAll, spawnTny, type TnyProcess } from '../helpers/tny-process.js';
import { newLink } from '../helpers/new-link.js';
import { describeWithPostgres } from './reshard-helpers.js';
import { createTestDatabases } from '../helpers/databases.js';

/**
 * Real processes: a `tny serve` on 3 shard databases answers redirects while `tny shards add`
 * runs as a child process, is killed with SIGKILL mid-move and is run again. No redirect of an
 * existing key may answer anything but its redirect, and every click is counted once.
 */
const LINKS = 20_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWithPostgres('tny shards add with real processes, SIGKILL mid-move', () => {
  let drop: () => Promise<void> = async () => undefined;
  let urls: string[];
  let env: Record<string, string>;

  beforeAll(async () => {
    assertBuilt();
    const made = await createTestDatabases(process.env.DATABASE_URL_TEST!, 4);
    drop = made.drop;
    urls = made.urls;
    env = {
      DATABASE_SHARDS: urls.slice(0, 3).join(','),
      TNY_TOPOLOGY_POLL_MS: '100',
      CLICK_FLUSH_INTERVAL_MS: '100',
      DATABASE_POOL_SIZE: '4',
      RATE_LIMIT_REDIRECT_BURST: '1000000',
      RATE_LIMIT_REDIRECT_PER_SECOND: '1000000',
      LOG_LEVEL: 'warn',
    };
    const set = await openShardSet(shardTargets({ DATABASE_SHARDS: urls.slice(0, 3) })!, { poolSize: 4 });
    try {
      const repo = new ShardedLinkRepository(set);
      for (let i = 0; i < LINKS; i += 5000) {
        const made = await repo.insertMany(Array.from({ length: 5000 }, (_, j) => newLink(`e${i + j}`)));
        expect(made.filter((m) => m === 'conflict')).toEqual([]);
      }
    } finally {
      await set.close();
    }
  }, 90_000);

  afterAll(async () => {
    await killAll();
    await drop();
  }, 30_000);

  it('serves every existing key throughout, resumes after SIGKILL, counts every click once', async () => {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const server = spawnTny(['serve'], { ...env, HOST: '127.0.0.1', PORT: String(port), BASE_URL: baseUrl });
    for (const deadline = Date.now() + 30_000; !(await fetch(`${baseUrl}/health`).then((r) => r.ok, () => false)); await sleep(50)) {
      if (Date.now() > deadline || server.child.exitCode !== null) throw new Error(`tny serve did not start:\n${server.stderr()}`);
    }

    let running = true;
    let redirects = 0;
    const wrong: string[] = [];
    const loop = async () => {
      while (running) {
        const key = `e${Math.floor(Math.random() * LINKS)}`;
        const res = await fetch(`${baseUrl}/${key}`, { redirect: 'manual' });
        await res.arrayBuffer();
        if (res.status === 302 && res.headers.get('location') === `https://example.com/${key}`) redirects++;
        else wrong.push(`${key}: ${res.status}`);
      }
    };
    const traffic = [loop(), loop(), loop(), loop()];

    const add = (): TnyProcess => spawnTny(['shards', 'add', urls[3]!, '--batch', '200', '--ack-timeout', '20000'], env);
    const first = add();
    for (const deadline = Date.now() + 30_000; !/route by epoch \d+; moving/.test(first.stdout()); await sleep(20)) {
      if (Date.now() > deadline || first.child.exitCode !== null) throw new Error(`tny shards add did not start moving:\n${first.stdout()}\n${first.stderr()}`);
    }
    await sleep(400);
    first.child.kill('SIGKILL');
    const killed = await first.waitExit(10_000);
    expect(killed.signal).toBe('SIGKILL');
    expect(first.stdout()).not.toContain('done:');
    const movedBefore = await countOn(urls[3]!);
    await sleep(300); // traffic against the half-moved set

    const second = add();
    const exit = await second.waitExit(60_000);
    expect(exit.code, second.stderr()).toBe(0);
    expect(second.stdout()).toContain('resuming: plan: adding s3 to 3 shard(s)');
    expect(second.stdout(), `${second.stdout()}\n${second.stderr()}`).toMatch(/done: moved [\d,]+ keys; the topology on s0 is stable with 4 shards/);
    await sleep(500); // traffic on 4 shards
    running = false;
    await Promise.all(traffic);

    server.child.kill('SIGTERM'); // flushes the click buffer
    expect((await server.waitExit(20_000)).code).toBe(0);

    const ring = ringOf(4);
    let keys = 0;
    let clicks = 0;
    for (const [i, url] of urls.entries()) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ short_key: string }>('select short_key from short_urls');
        for (const r of rows) expect(ring.lookup(r.short_key)).toBe(`s${i}`);
        keys += rows.length;
        const sum = await client.query<{ n: string | null }>('select sum(click_count) as n from short_urls');
        clicks += Number(sum.rows[0]?.n ?? 0);
      } finally {
        await client.end();
      }
    }
    const movedAfter = await countOn(urls[3]!);
    console.log(
      `[reshard e2e] ${redirects} redirects during the move, ${wrong.length} wrong; s3 had ${movedBefore} keys when the first mover was killed, ` +
        `${movedAfter} after the second; click_count total ${clicks}`,
    );
    expect(movedBefore).toBeLessThan(movedAfter); // killed mid-way, not after the end
    expect(wrong).toEqual([]);
    expect(redirects).toBeGreaterThan(100);
    expect(keys).toBe(LINKS);
    expect(clicks).toBe(redirects);
  }, 150_000);
});

async function countOn(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>('select count(*) as n from short_urls');
    return Number(rows[0]!.n);
  } catch {
    return 0; // not migrated yet
  } finally {
    await client.end();
  }
}
