import { afterEach, beforeEach, expect, it } from 'vitest';
import { moveBatch, MoveMismatchError } from '../../src/adapters/sharding/move-batch.js';
import { checkNotifierLayout } from '../../src/adapters/sharding/notifier-layout.js';
import { addShard, copyFlushMarkers } from '../../src/adapters/sharding/reshard.js';
import { shardedNotifierStores } from '../../src/adapters/sharding/sharded-notifier-stores.js';
import { recipientRoute } from '../../src/notifier/notifications/ids.js';
import { TnyError } from '../../src/platform/errors.js';
import { ringOf } from '../../src/adapters/sharding/reshard-plan.js';
import { openShard, ShardSet, type Shard } from '../../src/adapters/sharding/shard-set.js';
import { ShardedClickFlushes } from '../../src/adapters/sharding/sharded-click-flushes.js';
import { ShardedClickRepository } from '../../src/adapters/sharding/sharded-click-repository.js';
import { ShardedLinkRepository } from '../../src/adapters/sharding/sharded-link-repository.js';
import type { Topology } from '../../src/adapters/sharding/topology.js';
import { KyselyLinkRepository } from '../../src/adapters/sql/kysely-link-repository.js';
import { KyselySagaLog } from '../../src/adapters/sql/kysely-saga-log.js';
import { linkPartitions } from '../../src/main/sagas.js';
import { systemClock } from '../../src/platform/clock.js';
import type { ClickAggregate } from '../../src/shortener/clicks.js';
import type { Link } from '../../src/shortener/link.js';
import { withSchemaLock } from '../helpers/databases.js';
import { newLink } from '../helpers/new-link.js';
import { describeWithPostgres, reshardFixture, type ReshardFixture } from './reshard-helpers.js';

const ring4 = ringOf(4);
const click = (linkId: number, clicks: number): ClickAggregate => ({ linkId, day: '2026-01-02', referrer: '', browser: 'Firefox', os: 'Linux', bot: false, clicks });

describeWithPostgres('routing while a shard is added (3 → 4)', () => {
  let fx: ReshardFixture;
  let set: ShardSet;
  let links: Link[];
  /** Keys that move to s3, and keys that stay. */
  let moving: Link[];
  let staying: Link[];

  beforeEach(async () => {
    fx = reshardFixture(3);
    set = await fx.openSet(2);
    const made = await new ShardedLinkRepository(set).insertMany(Array.from({ length: 300 }, (_, i) => newLink(`r${i}`, { tags: [`t${i % 3}`], maxClicks: i % 2 ? 5 : null })));
    links = made.map((l) => {
      if (l === 'conflict') throw new Error('unexpected conflict');
      return l;
    });
    moving = links.filter((l) => ring4.lookup(l.key) === 's3');
    staying = links.filter((l) => ring4.lookup(l.key) !== 's3');
    expect(moving.length).toBeGreaterThan(40);
  });

  afterEach(async () => {
    await fx.close();
  });

  /** What the mover does first: s3 opened and named, topology migrating. */
  async function startMigration(): Promise<Shard> {
    const store = set.topology;
    const stable: Topology = { epoch: 1, state: 'stable', shards: set.shards.map((s) => s.target!) };
    expect(await store.write(stable, undefined, 1)).toBe(true);
    const migrating: Topology = { epoch: 2, state: 'migrating', shards: [...stable.shards, fx.extra] };
    expect(await store.write(migrating, 1, 2)).toBe(true);
    await set.apply(migrating);
    return set.shards[3]!;
  }

  const onShard = async (shard: Shard, key: string) =>
    (await shard.database.db.selectFrom('short_urls').selectAll().where('short_key', '=', key).executeTakeFirst()) ?? null;

  it('reads old owner first then new; a process that never polled refreshes on a miss', async () => {
    const stale = await fx.openSet(1); // opened before the migration: epoch 0, 3 shards
    const s3 = await startMigration();
    const repo = new ShardedLinkRepository(set);
    const [a, b] = moving;
    const old = set.previousOwner(a!.key);
    expect(set.candidates(a!.key).map((s) => s.name)).toEqual([old.name, 's3']);
    expect(set.candidates(staying[0]!.key)).toHaveLength(1);
    expect((await repo.findByKey(a!.key))?.id).toBe(a!.id); // still on the old shard

    expect(await moveBatch(old.database.db, s3.database.db, [a!.key, b!.key])).toBe(set.previousOwner(b!.key) === old ? 2 : 1);
    expect(await onShard(old, a!.key)).toBeNull();
    expect((await repo.findByKey(a!.key))?.tags).toEqual(a!.tags);
    // The stale process routes a to its old shard only: the miss refreshes its topology.
    expect(stale.migrating).toBe(false);
    expect((await new ShardedLinkRepository(stale).findByKey(a!.key))?.id).toBe(a!.id);
    expect(stale.migrating).toBe(true);
    expect(stale.size).toBe(4);
    expect(await repo.findByKey('never-existed')).toBeUndefined();
  });

  it('writes go to the old owner, then the new; creates of moving keys check the old owner', async () => {
    const s3 = await startMigration();
    const repo = new ShardedLinkRepository(set);
    const limited = moving.find((l) => l.maxClicks !== null)!;
    const [moved, notYet] = moving.filter((l) => l !== limited);
    if (!moved || !notYet) throw new Error('too few moving keys');
    for (const l of [moved, limited]) await moveBatch(set.previousOwner(l.key).database.db, s3.database.db, [l.key]);

    const edited = await repo.update(moved.key, { url: 'https://edited.example/', updatedAt: 2 });
    expect(edited?.url).toBe('https://edited.example/');
    expect((await onShard(s3, moved.key))?.original_url).toBe('https://edited.example/');
    expect((await repo.update(notYet.key, { url: 'https://old.example/', updatedAt: 2 }))?.url).toBe('https://old.example/');
    expect((await onShard(set.previousOwner(notYet.key), notYet.key))?.original_url).toBe('https://old.example/');

    expect(await repo.consumeLimitedClick(limited)).toBe(true);
    expect(Number((await onShard(s3, limited.key))?.click_count)).toBe(1);

    // A create of a key the old owner still holds: inserted on s3, found on the old, removed.
    expect(await repo.insert(newLink(notYet.key))).toBe('conflict');
    expect(await onShard(s3, notYet.key)).toBeNull();
    // A create of a key that moved already: the unique index of s3 refuses it.
    expect(await repo.insert(newLink(moved.key))).toBe('conflict');
    // A fresh key that belongs to s3 is created there.
    const fresh = Array.from({ length: 200 }, (_, i) => `fresh${i}`).find((k) => ring4.lookup(k) === 's3')!;
    const made = await repo.insert(newLink(fresh));
    expect(made).not.toBe('conflict');
    expect(await onShard(s3, fresh)).not.toBeNull();

    expect(await repo.delete(moved.key)).toBe(true);
    expect(await repo.findByKey(moved.key)).toBeUndefined();
  });

  it('lists every key once while keys are on two shards for a moment', async () => {
    const s3 = await startMigration();
    const repo = new ShardedLinkRepository(set);
    // A copy committed on s3 whose delete on the old shard has not committed yet (mid-move).
    const twin = moving[0]!;
    await new KyselyLinkRepository(s3.database.db, 'postgres').insert(newLink(twin.key));
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await repo.listKeys(after, 37);
      seen.push(...page);
      if (page.length < 37) break;
      after = page.at(-1)!;
    }
    expect(seen.length).toBe(links.length);
    expect(new Set(seen)).toEqual(new Set(links.map((l) => l.key)));
    const page = await repo.list({ limit: 500, sort: 'created_at', order: 'asc' });
    expect(page.items.filter((l) => l.key === twin.key)).toHaveLength(1);
    expect(page.items).toHaveLength(links.length);
  });

  it('a redone batch replaces an earlier copy; a different row under the key on the new shard stops the move', async () => {
    const s3 = await startMigration();
    const [a, b] = moving;
    const oldA = set.previousOwner(a!.key);
    // A crashed run's copy of a (same id), then more clicks on the old shard: the redo must carry them.
    await moveBatch(oldA.database.db, s3.database.db, [a!.key]);
    const row = (await onShard(s3, a!.key))!;
    await oldA.database.db.insertInto('short_urls').values({ ...row, click_count: 7 }).execute();
    expect(await moveBatch(oldA.database.db, s3.database.db, [a!.key])).toBe(1);
    expect(Number((await onShard(s3, a!.key))?.click_count)).toBe(7);
    expect(await onShard(oldA, a!.key)).toBeNull();

    // s3 holds another link under b's key (a create racing the move): nothing changes.
    await new KyselyLinkRepository(s3.database.db, 'postgres').insert(newLink(b!.key, { url: 'https://other.example/' }));
    const oldB = set.previousOwner(b!.key);
    await expect(moveBatch(oldB.database.db, s3.database.db, [b!.key])).rejects.toBeInstanceOf(MoveMismatchError);
    expect((await onShard(oldB, b!.key))?.original_url).toBe(b!.url);
  });

  it('click writes follow a moved link (with or without keys), flushes forward exactly once', async () => {
    const s3 = await startMigration();
    const [a, b] = moving.filter((l) => l.maxClicks === null);
    const stay = staying.find((l) => l.maxClicks === null)!;
    await moveBatch(set.previousOwner(a!.key).database.db, s3.database.db, [a!.key]);
    const clicks = new ShardedClickRepository(set);
    await clicks.addClicks({ rollups: [click(a!.id, 3), click(b!.id, 4), click(stay.id, 5)], counts: new Map([[a!.id, 3], [b!.id, 4], [stay.id, 5]]) });
    await clicks.addClicks({ rollups: [click(a!.id, 1)], counts: new Map([[a!.id, 1]]), keys: new Map([[a!.id, a!.key]]) });
    expect(Number((await onShard(s3, a!.key))?.click_count)).toBe(4);
    expect(Number((await onShard(set.previousOwner(b!.key), b!.key))?.click_count)).toBe(4);
    expect(Number((await onShard(set.shardFor(stay.key), stay.key))?.click_count)).toBe(5);
    expect((await clicks.stats(a!.id, '2026-01-01', '2026-01-31')).total).toBe(4);

    // A Redis flush: b's clicks land on its old shard; b moves; the same batch as another flush is forwarded.
    const flushes = new ShardedClickFlushes(set);
    const batch = { rollups: [click(b!.id, 10)], counts: new Map([[b!.id, 10]]), keys: new Map([[b!.id, b!.key]]) };
    await moveBatch(set.previousOwner(b!.key).database.db, s3.database.db, [b!.key]);
    expect(await flushes.apply('f1', batch, 1)).toBe(true);
    expect(await flushes.apply('f1', batch, 1)).toBe(false); // applied once
    expect(await flushes.isApplied('f1')).toBe(true);
    expect(Number((await onShard(s3, b!.key))?.click_count)).toBe(14);
    const marker = await s3.database.db.selectFrom('click_flushes').select('id').where('id', '=', `f1>${set.previousOwner(b!.key).name}`).executeTakeFirst();
    expect(marker).toBeDefined();
  });

  it('refuses when any shard holds notifier rows of recipients; a dry run changes nothing', async () => {
    const options = {
      set,
      target: { url: fx.extra.url, schema: fx.extra.schema! },
      open: fx.opener,
      clock: systemClock,
      pollMs: 50,
      ackTimeoutMs: 1000,
      report: () => undefined,
    };
    const dry = await addShard({ ...options, dryRun: true });
    expect(dry.changed).toBe(false);
    expect(dry.plan.moving).toBe(moving.length);
    expect(dry.plan.keys).toBe(links.length);
    expect(await set.topology.read()).toBeUndefined();

    // Recipients on any shard, s0 included (a new shard takes ~1/(N+1) of every shard's recipients).
    await set.shards[0]!.database.db.insertInto('notifier_recipients').values({ account_id: 1, id: 'r0', locale: 'en', time_zone: 'UTC', created_at: 1, updated_at: 1 }).execute();
    await expect(addShard(options)).rejects.toThrow('shard s0 holds 1 notifier rows of recipients: resharding notifier data is not supported yet');
    await set.shards[0]!.database.db.deleteFrom('notifier_recipients').execute();
    await set.shards[1]!.database.db.insertInto('notifier_recipients').values({ account_id: 1, id: 'r1', locale: 'en', time_zone: 'UTC', created_at: 1, updated_at: 1 }).execute();
    await expect(addShard(options)).rejects.toThrow('shard s1 holds 1 notifier rows of recipients: resharding notifier data is not supported yet');
  });

  it('while a shard is added, creating a recipient it would take is refused (503); resuming refuses only for rows the new shard would take', async () => {
    const options = { set, target: { url: fx.extra.url, schema: fx.extra.schema! }, open: fx.opener, clock: systemClock, pollMs: 50, ackTimeoutMs: 1000, report: () => undefined };
    const ids = Array.from({ length: 40 }, (_, i) => `p-${i}`);
    const takes = (id: string) => ring4.lookupHash(recipientRoute(1, id)) === 's3';
    const movingId = ids.find(takes)!;
    const stayingIds = ids.filter((id) => !takes(id)).slice(0, 5);
    await startMigration();
    const stores = shardedNotifierStores(set);
    const refused = await stores.recipients.insertWithContacts({ accountId: 1, id: movingId, locale: 'en', timeZone: 'UTC', now: 1 }, []).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TnyError);
    expect((refused as TnyError).code).toBe('SHARDS_CHANGING');
    expect((refused as TnyError).status).toBe(503);
    await expect(stores.recipients.insert({ accountId: 1, id: movingId, locale: 'en', timeZone: 'UTC', now: 1 })).rejects.toThrow(/cannot be created while a shard is being added/);
    for (const id of stayingIds) expect(await stores.recipients.insert({ accountId: 1, id, locale: 'en', timeZone: 'UTC', now: 1 })).not.toBe('conflict');
    // One a process that had not seen the migrating epoch created on the old owner: the (resumed) move refuses.
    const old = set.shardForHash(recipientRoute(1, movingId));
    await old.database.db.insertInto('notifier_recipients').values({ account_id: 1, id: movingId, locale: 'en', time_zone: 'UTC', created_at: 1, updated_at: 1 }).execute();
    await expect(addShard(options)).rejects.toThrow(`shard ${old.name} holds 1 notifier recipient(s) and 0 notification(s) that s3 would take (e.g. recipient 1:${movingId})`);
    expect(await stores.recipients.delete(1, movingId)).toBe(true);
    // Recipients it keeps do not stop it: it finishes, and they are found where they were.
    const done = await addShard(options);
    expect(done.changed).toBe(true);
    expect(set.migrating).toBe(false);
    for (const id of stayingIds) expect((await stores.recipients.find(1, id))?.id).toBe(id);
    await checkNotifierLayout(set);
    // Stable again: the recipient the new shard owns is created there.
    expect(await stores.recipients.insert({ accountId: 1, id: movingId, locale: 'en', timeZone: 'UTC', now: 2 })).not.toBe('conflict');
    expect(await set.shards[3]!.database.db.selectFrom('notifier_recipients').select('id').execute()).toEqual([{ id: movingId }]);
  });

  it('refuses while a saga run (import, account deletion) is unfinished; imports and deletions refuse to start while a shard is added', async () => {
    const options = { set, target: { url: fx.extra.url, schema: fx.extra.schema! }, open: fx.opener, clock: systemClock, pollMs: 50, ackTimeoutMs: 1000, report: () => undefined };
    const partitions = linkPartitions({ db: set.home.database.db, dialect: 'postgres', shards: set, close: async () => undefined });
    expect(partitions.unavailable?.()).toBeUndefined();
    const log = new KyselySagaLog(set.home.database.db);
    expect(await log.start({ id: 'import:1:abc', name: 'import-links', input: {}, steps: 3, now: 1 })).toBe('created');
    await startMigration();
    expect(partitions.unavailable?.()).toMatch(/a shard is being added/);
    await expect(addShard(options)).rejects.toThrow(/unfinished saga runs \(import:1:abc\).*tny sagas resume/);
    expect(await set.shards[3]!.database.db.selectFrom('short_urls').select('id').execute()).toEqual([]);
    await set.apply({ epoch: 3, state: 'stable', shards: set.shards.map((s) => s.target!) });
    expect(partitions.unavailable?.()).toMatch(/has 4 shards since this process started with 3; restart it/);
  });

  it('a start checks DATABASE_SHARDS against the topology: a prefix adopts it (warning), a longer or different list fails', async () => {
    await startMigration();
    const warnings: string[] = [];
    const open = (i: number) => withSchemaLock(fx.url, 'shared', () => openShard(fx.targets[i]!, i, { poolSize: 1 }));
    const prefix = await ShardSet.prepare([await open(0), await open(1)], { opener: fx.opener, warn: (m) => warnings.push(m) });
    expect(prefix.size).toBe(4);
    expect(prefix.migrating).toBe(true);
    expect(warnings.join()).toMatch(/lists 4 shards, DATABASE_SHARDS 2: using s0's/);
    await prefix.close();

    const s0 = await open(0);
    const wrong = await withSchemaLock(fx.url, 'shared', () => openShard({ ...fx.targets[2]!, name: 's1' }, 1, { poolSize: 1 }));
    await expect(ShardSet.prepare([s0, wrong], { opener: fx.opener })).rejects.toThrow(/is shard s2, not s1/);
    await Promise.all([s0.database.close(), wrong.database.close()]);

    // Another database where the topology has s1 (its identity check passes: a fresh database).
    const stranger = await withSchemaLock(fx.url, 'shared', () => openShard({ name: 's1', url: fx.url, schema: `${fx.extra.schema!}_x` }, 1, { poolSize: 1 }));
    const s0b = await open(0);
    await expect(ShardSet.prepare([s0b, stranger], { opener: fx.opener })).rejects.toThrow(/is not s0's topology's s1/);
    await Promise.all([s0b.database.close(), stranger.database.close()]);
    await withSchemaLock(fx.url, 'exclusive', (c) => c.query(`DROP SCHEMA IF EXISTS "${fx.extra.schema!}_x" CASCADE`));
  });

  it('a start with more shards in DATABASE_SHARDS than in the topology fails (shards are added by the mover)', async () => {
    const two: Topology = { epoch: 1, state: 'stable', shards: set.shards.slice(0, 2).map((s) => s.target!) };
    expect(await set.topology.write(two, undefined, 1)).toBe(true);
    await expect(fx.openSet(1)).rejects.toThrow(/DATABASE_SHARDS lists 3 shards but s0's topology \(epoch 1\) has 2: add shards with `tny shards add URL`/);
  });

  it('waits for every live process to route by the new epoch, and gives up (nothing moved) past --ack-timeout', async () => {
    await set.topology.beat('slow-process', 0, Date.now() + 60_000); // live, at epoch 0, for the next minute
    const events: string[] = [];
    await expect(
      addShard({
        set,
        target: { url: fx.extra.url, schema: fx.extra.schema! },
        open: fx.opener,
        clock: systemClock,
        pollMs: 50,
        ackTimeoutMs: 300,
        report: (e) => events.push(e.type === 'waiting' ? `waiting:${e.lagging.map((h) => h.processId).join()}` : e.type),
      }),
    ).rejects.toThrow(/1 live process\(es\) did not route by epoch 2 within 300 ms \(slow-process\); nothing moved yet/);
    expect(events[0]).toBe('plan');
    expect(events).toContain('waiting:slow-process');
    expect(events).not.toContain('progress');
    expect((await set.topology.read())?.state).toBe('migrating');
    for (const s of set.shards.slice(0, 3)) {
      const n = await s.database.db.selectFrom('short_urls').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
      expect(Number(n.n)).toBeGreaterThan(0);
    }
    const onNew = await set.shards[3]!.database.db.selectFrom('short_urls').select('id').execute();
    expect(onNew).toEqual([]);
  });

  it('copies to the new shard the markers of Redis click flushes every old shard applied, not of partial ones', async () => {
    const s3 = await startMigration();
    const old = set.shards.slice(0, 3);
    for (const s of old) await s.database.db.insertInto('click_flushes').values({ id: 'full', applied_at: 5 }).execute();
    await old[0]!.database.db.insertInto('click_flushes').values({ id: 'partial', applied_at: 6 }).execute();
    expect(await copyFlushMarkers(old, s3)).toBe(1);
    expect(await copyFlushMarkers(old, s3)).toBe(1); // again: nothing new
    const ids = (await s3.database.db.selectFrom('click_flushes').select('id').execute()).map((r) => r.id);
    expect(ids).toEqual(['full']);
    expect(await new ShardedClickFlushes(set).isApplied('full')).toBe(true);
    expect(await new ShardedClickFlushes(set).isApplied('partial')).toBe(false);
  });
});
