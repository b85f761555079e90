import type { Clock } from '../../platform/clock.js';
import { moveBatch } from './move-batch.js';
import { movingNotifierRows } from './move-recipients.js';
import { keysOwnedBy, misplacedKeys, notifierRows, planReshard, ringOf, summarize, type ReshardPlan } from './reshard-plan.js';
import { interleaveLinkIds } from './shard-ids.js';
import { KyselySagaLog } from '../sql/kysely-saga-log.js';
import { checkIdentity, type Shard, type ShardOpener, type ShardSet } from './shard-set.js';
import { redactUrl } from './shard-urls.js';
import { sameDatabase, type Heartbeat, type Topology, type TopologyShard } from './topology.js';

/** What the mover tells its driver (the CLI prints these; tests count them). */
export type ReshardEvent =
  | { type: 'plan'; plan: ReshardPlan; resumed: boolean }
  | { type: 'waiting'; epoch: number; lagging: Heartbeat[] }
  | { type: 'acked'; epoch: number; processes: number }
  | { type: 'progress'; moved: number; total: number }
  | { type: 'sweep'; moved: number }
  | { type: 'verified'; keys: number; shards: number }
  | { type: 'done'; shards: TopologyShard[]; moved: number };

export interface AddShardOptions {
  /** The set as configured (and as s0's topology says; a shard being added is already in it when resuming). */
  set: ShardSet;
  /** The new database. */
  target: { url: string; schema?: string };
  /** Opens and migrates the new database. */
  open: ShardOpener;
  clock: Clock;
  /** Serving processes poll the topology this often (TNY_TOPOLOGY_POLL_MS); live = a heartbeat within 3 polls. */
  pollMs: number;
  /** Longest wait for every live process to route by the new epoch. */
  ackTimeoutMs: number;
  /** Links per moved batch (default 1,000). */
  batchSize?: number;
  /** Only compute and report the plan. */
  dryRun?: boolean;
  /** Checked between batches: an aborted move stops there (re-running resumes). */
  signal?: AbortSignal;
  report: (event: ReshardEvent) => void;
  sleep?: (ms: number) => Promise<void>;
}

export interface AddShardResult {
  plan: ReshardPlan;
  moved: number;
  /** False for a dry run, or when the shard was already part of the set. */
  changed: boolean;
}

/** Tries of one batch before the move gives up (a mismatch or a deadlock is retried). */
const BATCH_TRIES = 8;

/**
 * `tny shards add URL` (ADR 8): adds shard s{N} to N shards while they serve. Records the
 * move in s0's topology, waits until every live process routes by it (old owner first, then
 * new, for the keys that move), moves those keys in verified batches, sweeps the old shards
 * again for keys created there by a slow process, verifies every key is on its owner, and
 * marks the topology stable. Each step can be re-run: after a crash, running the same command
 * again resumes.
 */
export async function addShard(opts: AddShardOptions): Promise<AddShardResult> {
  const { set } = opts;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const store = set.topology;
  let topology = await store.read();
  if (!topology) {
    const initial: Topology = { epoch: 1, state: 'stable', shards: set.shards.map(targetOf) };
    if (!opts.dryRun) {
      await store.write(initial, undefined, opts.clock.now());
      topology = (await store.read())!;
      await set.apply(topology);
    } else {
      topology = initial;
    }
  }
  const wanted: TopologyShard = { name: `s${topology.shards.length}`, url: opts.target.url, ...(opts.target.schema ? { schema: opts.target.schema } : {}) };
  const resumed = topology.state === 'migrating';
  if (resumed) {
    const adding = topology.shards.at(-1)!;
    if (!sameDatabase(adding, wanted)) {
      throw new Error(`shard ${adding.name} (${redactUrl(adding.url)}) is being added: run \`tny shards add\` with it to finish that first`);
    }
    wanted.name = adding.name;
  } else {
    const present = topology.shards.find((s) => sameDatabase(s, wanted));
    if (present) {
      const plan = summarize(topology.shards.length, []);
      return { plan, moved: 0, changed: false };
    }
  }
  const oldCount = resumed ? topology.shards.length - 1 : topology.shards.length;
  const oldShards = set.shards.slice(0, oldCount);
  // A resumed move may find recipients created during it on shards they keep: only rows the
  // new shard would take matter then (processes refuse to create such recipients while migrating).
  if (resumed) await refuseMovingNotifierData(oldShards);
  else await refuseNotifierData(oldShards);
  await refuseUnfinishedSagas(set.home);

  // The plan first: per old shard, its keys and how many the ring with the new shard takes.
  const plan = await planReshard(oldShards.map((s) => ({ name: s.name, db: s.database.db })));
  if (resumed) {
    plan.keys += await countKeys(set.shards[oldCount]!); // moved by the earlier run (or created there)
    plan.fraction = plan.keys === 0 ? 0 : plan.moving / plan.keys;
  }
  opts.report({ type: 'plan', plan, resumed });
  if (opts.dryRun) return { plan, moved: 0, changed: false };

  // The new shard: opened, migrated, named, its ids interleaved; then the epoch that routes to it.
  if (!resumed) {
    const shard = await opts.open(wanted, oldCount);
    try {
      await checkIdentity(shard);
      await interleaveLinkIds([...oldShards, shard].map((s) => ({ index: s.index, db: s.database.db })));
    } finally {
      await shard.database.close(); // the set opens its own when it applies the topology
    }
    const next: Topology = { epoch: topology.epoch + 1, state: 'migrating', shards: [...topology.shards, wanted] };
    if (!(await store.write(next, topology.epoch, opts.clock.now()))) throw new Error('the topology changed while adding the shard: another `tny shards add` runs?');
    topology = next;
  }
  await set.apply(topology);
  const newShard = set.shards[oldCount]!;
  await waitForAcks(opts, topology.epoch, sleep);
  // A run that started before a process saw the new epoch is on the log by now (processes refuse new ones while migrating).
  await refuseUnfinishedSagas(set.home);
  // A process that had not seen the migrating epoch yet may have created a recipient the new shard takes.
  await refuseMovingNotifierData(oldShards);
  await copyFlushMarkers(oldShards, newShard);

  // The keys to move, listed again now that every process routes by the new epoch.
  const ring = ringOf(oldCount + 1);
  const moving = new Map<Shard, string[]>();
  let total = 0;
  for (const s of oldShards) {
    const keys = await keysOwnedBy(s.database.db, ring, newShard.name);
    moving.set(s, keys);
    total += keys.length;
  }

  const batchSize = opts.batchSize ?? 1000;
  let moved = 0;
  for (const [shard, keys] of moving) {
    for (let i = 0; i < keys.length; i += batchSize) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      moved += await moveWithRetry(shard, newShard, keys.slice(i, i + batchSize), sleep);
      opts.report({ type: 'progress', moved, total });
    }
  }
  // Keys a slow process created on an old shard meanwhile: swept until none are left.
  for (;;) {
    let swept = 0;
    for (const shard of oldShards) {
      const keys = await keysOwnedBy(shard.database.db, ring, newShard.name);
      for (let i = 0; i < keys.length; i += batchSize) swept += await moveWithRetry(shard, newShard, keys.slice(i, i + batchSize), sleep);
    }
    opts.report({ type: 'sweep', moved: swept });
    moved += swept;
    if (swept === 0) break;
  }
  const all = set.shards.slice(0, oldCount + 1);
  const check = await misplacedKeys(
    all.map((s) => ({ name: s.name, db: s.database.db })),
    ring,
  );
  if (check.misplaced > 0) throw new Error(`verification failed: ${check.misplaced} of ${check.keys} keys are not on their shard; the topology stays 'migrating' (re-run to resume)`);
  opts.report({ type: 'verified', keys: check.keys, shards: all.length });

  const stable: Topology = { epoch: topology.epoch + 1, state: 'stable', shards: topology.shards };
  if (!(await store.write(stable, topology.epoch, opts.clock.now()))) throw new Error('the topology changed while adding the shard: another `tny shards add` runs?');
  await set.apply(stable);
  opts.report({ type: 'done', shards: stable.shards, moved });
  return { plan, moved, changed: true };
}

function targetOf(s: Shard): TopologyShard {
  if (!s.target) throw new Error(`shard ${s.name} has no recorded URL`);
  return s.target;
}

async function countKeys(s: Shard): Promise<number> {
  const row = await s.database.db.selectFrom('short_urls').select((eb) => eb.fn.countAll<string | number>().as('n')).executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * An import or account deletion that has not finished has its steps laid out per shard of the
 * set it started on (and an import's rows staged on the owners of that ring): moving keys under
 * it would strand them. Their runs are on s0's step log; finish them first (`tny sagas resume`).
 */
export async function refuseUnfinishedSagas(home: Shard): Promise<void> {
  const runs = await new KyselySagaLog(home.database.db).unfinished(5);
  if (runs.length > 0) {
    throw new Error(`unfinished saga runs (${runs.map((r) => r.id).join(', ')}): an import or account deletion spans the shards as they are; finish them first (tny sagas resume), then add the shard`);
  }
}

/**
 * Resharding notifier data is not supported yet: per-recipient rows live on their recipient's
 * ring owner (ADR 10), and adding a shard changes the owner of about 1/(N+1) recipients on every
 * shard, s0 included. Refuse while any shard holds any, rather than leave them where the new
 * routing will not look. (Categories and templates stay on s0 and never move.)
 */
export async function refuseNotifierData(shards: readonly Shard[]): Promise<void> {
  for (const s of shards) {
    const rows = await notifierRows(s.database.db);
    if (rows > 0) throw new Error(`shard ${s.name} holds ${rows} notifier rows of recipients: resharding notifier data is not supported yet`);
  }
}

/**
 * Notifier rows the ring with the new shard gives to it (recipients, and notifications by the
 * ring position in their id), which nothing would move. While migrating, processes refuse to
 * create such recipients (sharded-notifier-stores.ts); one that had not seen the epoch yet may
 * have, and this finds it after every process acked.
 */
export async function refuseMovingNotifierData(oldShards: readonly Shard[]): Promise<void> {
  const ring = ringOf(oldShards.length + 1);
  const newName = `s${oldShards.length}`;
  for (const s of oldShards) {
    const found = await movingNotifierRows(s.database.db, ring, newName);
    if (found.recipients + found.notifications > 0) {
      throw new Error(
        `shard ${s.name} holds ${found.recipients} notifier recipient(s) and ${found.notifications} notification(s) that ${newName} would take ` +
          `(e.g. ${found.example}), created while the shard was being added: resharding notifier data is not supported yet; ` +
          'delete those recipients, then re-run to resume',
      );
    }
  }
}

/**
 * Redis click flushes (ADR 7) count as applied when every shard holds their marker. A flush
 * every old shard applied before the new shard existed is applied for the new shard too (its
 * clicks arrive with the moved rollups), so its marker is copied: a recovery of it must not
 * apply it there again. Run after every process writes markers to the new shard as well.
 */
export async function copyFlushMarkers(oldShards: readonly Shard[], newShard: Shard): Promise<number> {
  const seen = new Map<string, { n: number; at: number }>();
  for (const s of oldShards) {
    for (const row of await s.database.db.selectFrom('click_flushes').select(['id', 'applied_at']).execute()) {
      const entry = seen.get(row.id);
      seen.set(row.id, { n: (entry?.n ?? 0) + 1, at: Math.max(entry?.at ?? 0, Number(row.applied_at)) });
    }
  }
  const everywhere = [...seen].filter(([, e]) => e.n === oldShards.length).map(([id, e]) => ({ id, applied_at: e.at }));
  for (let i = 0; i < everywhere.length; i += 500) {
    await newShard.database.db
      .insertInto('click_flushes')
      .values(everywhere.slice(i, i + 500))
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }
  return everywhere.length;
}

/**
 * Every live process (a heartbeat within 3 polls) must route by `epoch` before a key moves:
 * then none looks only at a key's old shard. Checked twice a poll apart, so a heartbeat that
 * was being written during the first check is seen by the second.
 */
async function waitForAcks(opts: AddShardOptions, epoch: number, sleep: (ms: number) => Promise<void>): Promise<void> {
  const deadline = opts.clock.now() + opts.ackTimeoutMs;
  let quiet = 0;
  for (;;) {
    const live = await opts.set.topology.heartbeats(opts.clock.now() - 3 * opts.pollMs);
    const lagging = live.filter((h) => h.epoch < epoch);
    if (lagging.length === 0) {
      if (++quiet >= 2) {
        opts.report({ type: 'acked', epoch, processes: live.length });
        return;
      }
    } else {
      quiet = 0;
      opts.report({ type: 'waiting', epoch, lagging });
      if (opts.clock.now() > deadline) {
        throw new Error(
          `${lagging.length} live process(es) did not route by epoch ${epoch} within ${opts.ackTimeoutMs} ms (${lagging.map((h) => h.processId).join(', ')}); ` +
            'nothing moved yet: re-run to resume, or stop them',
        );
      }
    }
    await sleep(opts.pollMs);
  }
}

async function moveWithRetry(from: Shard, to: Shard, keys: string[], sleep: (ms: number) => Promise<void>): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await moveBatch(from.database.db, to.database.db, keys);
    } catch (error) {
      // A mismatch (a concurrent create of a moving key, which its creator removes) or a deadlock: again.
      if (attempt >= BATCH_TRIES) throw error;
      await sleep(20 * attempt);
    }
  }
}
