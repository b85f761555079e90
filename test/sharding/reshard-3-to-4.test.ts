import { afterAll, beforeAll, expect, it } from 'vitest';
import { addShard, type ReshardEvent } from '../../src/adapters/sharding/reshard.js';
import { keysOf, ringOf } from '../../src/adapters/sharding/reshard-plan.js';
import type { ShardSet } from '../../src/adapters/sharding/shard-set.js';
import { ShardedClickRepository } from '../../src/adapters/sharding/sharded-click-repository.js';
import { ShardedLinkRepository } from '../../src/adapters/sharding/sharded-link-repository.js';
import { TopologyWatcher } from '../../src/adapters/sharding/topology-watcher.js';
import { systemClock } from '../../src/platform/clock.js';
import type { ClickAggregate } from '../../src/shortener/clicks.js';
import type { Link } from '../../src/shortener/link.js';
import { newLink } from '../helpers/new-link.js';
import { describeWithPostgres, reshardFixture, type ReshardFixture } from './reshard-helpers.js';

/**
 * Issue 5 §5.2: 3 → 4 shards with 100,000 links while traffic runs — lookups, edits, creates
 * and click writes from a serving "process" (its own pools, polling the topology) — and the
 * mover stopped half-way and run again from a fresh process. No lookup of an existing key may
 * miss at any moment; afterwards every key is on its owner once, edits and clicks are exact.
 */
const LINKS = 100_000;
const POLL_MS = 100;
const DAY = '2026-01-02';


const click = (linkId: number, clicks: number): ClickAggregate => ({ linkId, day: DAY, referrer: '', browser: 'Firefox', os: 'Linux', bot: false, clicks });

describeWithPostgres('resharding 3 → 4 shards, 100,000 links, traffic running', () => {
  let fx: ReshardFixture;
  const sets: ShardSet[] = [];
  let links: Link[] = [];

  beforeAll(async () => {
    fx = reshardFixture(3);
    const loader = await fx.openSet(4);
    sets.push(loader);
    const repo = new ShardedLinkRepository(loader);
    const started = Date.now();
    const batches: Promise<(Link | 'conflict')[]>[] = [];
    for (let i = 0; i < LINKS; i += 10_000) {
      batches.push(repo.insertMany(Array.from({ length: 10_000 }, (_, j) => newLink(`k${i + j}`, (i + j) % 10 === 0 ? { tags: ['t1', `g${(i + j) % 7}`] } : {}))));
    }
    links = (await Promise.all(batches)).flat().map((l) => {
      if (l === 'conflict') throw new Error('unexpected conflict');
      return l;
    });
    console.log(`[reshard] inserted ${LINKS.toLocaleString('en-US')} links on 3 shards in ${Date.now() - started} ms`);
    // Clicks from before the move: their rollups must move with the links.
    await new ShardedClickRepository(loader).addClicks({
      rollups: links.slice(0, 3000).map((l) => click(l.id, 2)),
      counts: new Map(links.slice(0, 3000).map((l) => [l.id, 2])),
    });
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
  });

  it('moves about 1/4 of the keys with no miss, exact edits and clicks, and resumes after an abort', async () => {
    // The serving process: polls the topology (heartbeats) and serves lookups, edits, creates, clicks.
    const serving = await fx.openSet(3);
    sets.push(serving);
    const watcher = new TopologyWatcher(serving, { clock: systemClock, pollMs: POLL_MS, processId: 'serving-1' });
    await watcher.start();
    // A process that never polls (its routing goes stale): its misses must refresh the topology.
    const stale = await fx.openSet(1);
    sets.push(stale);
    const servingLinks = new ShardedLinkRepository(serving);
    const staleLinks = new ShardedLinkRepository(stale);
    const servingClicks = new ShardedClickRepository(serving);

    let running = true;
    const counts = { lookups: 0, staleLookups: 0, misses: [] as string[], edits: 0, creates: 0, clickBatches: 0 };
    const editKeys = links.filter((_, i) => i % 97 === 0).map((l) => l.key);
    const lastEdit = new Map<string, string>();
    const created: string[] = [];
    const expectedClicks = new Map<number, number>(links.slice(0, 3000).map((l) => [l.id, 2]));
    const pick = () => links[Math.floor(Math.random() * links.length)]!;

    const lookups = (repo: ShardedLinkRepository, field: 'lookups' | 'staleLookups') => async () => {
      while (running) {
        const l = pick();
        const found = await repo.findByKey(l.key);
        counts[field]++;
        if (!found || found.id !== l.id) counts.misses.push(l.key);
      }
    };
    const edits = async () => {
      let n = 0;
      while (running) {
        const key = editKeys[n % editKeys.length]!;
        const url = `https://edited.example/${key}/${++n}`;
        const done = await servingLinks.update(key, { url, updatedAt: Date.now() });
        if (!done) counts.misses.push(`edit:${key}`);
        else lastEdit.set(key, url);
        counts.edits++;
      }
    };
    const creates = async () => {
      let n = 0;
      while (running) {
        const key = `new${n++}`;
        const made = await servingLinks.insert(newLink(key));
        if (made === 'conflict') throw new Error(`create of fresh key ${key} conflicted`);
        created.push(key);
        counts.creates++;
      }
    };
    const clicks = async () => {
      let n = 0;
      while (running) {
        const batch = Array.from({ length: 50 }, pick);
        const withKeys = n++ % 2 === 0; // half the batches carry keys, half are found by id
        await servingClicks.addClicks({
          rollups: batch.map((l) => click(l.id, 1)),
          counts: new Map(batch.map((l) => [l.id, 1])),
          ...(withKeys ? { keys: new Map(batch.map((l) => [l.id, l.key])) } : {}),
        });
        // Equal links in one batch: the counts map keeps one entry, the rollups add up.
        for (const id of new Set(batch.map((l) => l.id))) expectedClicks.set(id, (expectedClicks.get(id) ?? 0) + 1);
        counts.clickBatches++;
      }
    };
    const traffic = [lookups(servingLinks, 'lookups')(), lookups(servingLinks, 'lookups')(), lookups(staleLinks, 'staleLookups')(), edits(), creates(), clicks()];

    // First run: aborted after 6 batches, as a crash between batches would leave it.
    const events: ReshardEvent[] = [];
    const abort = new AbortController();
    let batches = 0;
    const mover1 = await fx.openSet(2);
    sets.push(mover1);
    const run = (set: ShardSet, signal?: AbortSignal) =>
      addShard({
        set,
        target: { url: fx.extra.url, schema: fx.extra.schema! },
        open: fx.opener,
        clock: systemClock,
        pollMs: POLL_MS,
        ackTimeoutMs: 20_000,
        batchSize: 1000,
        ...(signal ? { signal } : {}),
        report: (e) => {
          events.push(e);
          if (e.type === 'progress' && ++batches === 6) abort.abort(new Error('stopped mid-way'));
        },
      });
    const started = Date.now();
    await expect(run(mover1, abort.signal)).rejects.toThrow('stopped mid-way');
    const plan1 = events.find((e) => e.type === 'plan')!;
    expect(plan1.type === 'plan' && plan1.plan.moving).toBeGreaterThan(6000);
    await new Promise((r) => setTimeout(r, 300)); // traffic against the half-moved set

    // Second run, from a fresh process: resumes (the topology says migrating) and completes.
    const mover2 = await fx.openSet(2);
    sets.push(mover2);
    expect(mover2.migrating).toBe(true);
    const result = await run(mover2);
    const tookMs = Date.now() - started;
    await new Promise((r) => setTimeout(r, 3 * POLL_MS)); // traffic on the stable 4-shard set
    running = false;
    await Promise.all(traffic);
    await watcher.close();

    // The plan of the first run: about 1/4 of the keys move.
    if (plan1.type !== 'plan') throw new Error('no plan');
    const p = plan1.plan;
    console.log(
      `[reshard] plan: ${p.moving.toLocaleString('en-US')} of ${p.keys.toLocaleString('en-US')} keys move (${(p.fraction * 100).toFixed(2)}%, 1/4 = 25%); ` +
        `per shard ${p.shards.map((s) => `${s.shard} ${s.moving}/${s.keys}`).join(', ')}`,
    );
    console.log(
      `[reshard] move took ${tookMs} ms (abort + resume); during it: ${counts.lookups} lookups + ${counts.staleLookups} by the non-polling process, ` +
        `${counts.edits} edits, ${counts.creates} creates, ${counts.clickBatches} click batches; misses: ${counts.misses.length}`,
    );
    expect(p.fraction).toBeGreaterThan(0.22);
    expect(p.fraction).toBeLessThan(0.28);
    expect(result.changed).toBe(true);
    expect(events.some((e) => e.type === 'plan' && e.resumed)).toBe(true);
    expect(counts.misses).toEqual([]);
    expect(counts.lookups).toBeGreaterThan(100);
    expect(counts.staleLookups).toBeGreaterThan(10);
    expect(counts.creates).toBeGreaterThan(10);
    expect(serving.size).toBe(4);
    expect(serving.migrating).toBe(false);

    // Every key exactly once, on its owner of the 4-shard ring.
    const ring = ringOf(4);
    const seen = new Map<string, string>();
    for (const s of mover2.shards) {
      for await (const page of keysOf(s.database.db)) {
        for (const key of page) {
          expect(seen.get(key), `${key} on two shards`).toBeUndefined();
          seen.set(key, s.name);
          if (ring.lookup(key) !== s.name) throw new Error(`${key} is on ${s.name}, its owner is ${ring.lookup(key)}`);
        }
      }
    }
    expect(seen.size).toBe(LINKS + created.length);
    const onNew = [...seen.values()].filter((s) => s === 's3').length;
    console.log(`[reshard] after: s3 holds ${onNew.toLocaleString('en-US')} of ${seen.size.toLocaleString('en-US')} keys`);

    // Ids, tags and edits survived the move; clicks are exact (count and rollups).
    const after = new ShardedLinkRepository(mover2);
    for (const l of links.filter((_, i) => i % 1000 === 0)) {
      const now = (await after.findByKey(l.key))!;
      expect(now.id).toBe(l.id);
      expect(now.tags).toEqual(l.tags);
    }
    for (const [key, url] of lastEdit) expect((await after.findByKey(key))!.url).toBe(url);
    const clicksOf = new Map<number, { count: number; rollups: number }>();
    for (const s of mover2.shards) {
      const rows = await s.database.db.selectFrom('short_urls').select(['id', 'click_count']).where('click_count', '>', 0).execute();
      for (const r of rows) clicksOf.set(Number(r.id), { count: Number(r.click_count), rollups: 0 });
      const sums = await s.database.db
        .selectFrom('click_rollups')
        .select((eb) => ['link_id', eb.fn.sum<string>('clicks').as('n')])
        .groupBy('link_id')
        .execute();
      for (const r of sums) clicksOf.get(Number(r.link_id))!.rollups = Number(r.n);
    }
    expect(clicksOf.size).toBe(expectedClicks.size);
    for (const [id, n] of expectedClicks) expect(clicksOf.get(id)?.count, `click_count of link ${id}`).toBe(n);
    const rollupTotal = [...clicksOf.values()].reduce((a, c) => a + c.rollups, 0);
    const expectedRollups = 3000 * 2 + counts.clickBatches * 50;
    expect(rollupTotal).toBe(expectedRollups);
  }, 180_000);
});
