import type { Kysely } from 'kysely';
import type { Database } from '../sql/schema.js';

/** One shard as the topology records it. The URL is stored as given (s0 already holds everything). */
export interface TopologyShard {
  name: string;
  url: string;
  /** PostgreSQL schema when the shard is one (tests); the URL's default otherwise. */
  schema?: string;
}

/**
 * The shard set as s0 records it. `stable`: keys route on the ring over `shards`. `migrating`:
 * the last entry is being added; keys whose owner differs between the ring without it and the
 * ring with it are looked up on the old owner first, then the new (ADR 8).
 */
export interface Topology {
  epoch: number;
  state: 'stable' | 'migrating';
  shards: TopologyShard[];
}

export interface Heartbeat {
  processId: string;
  epoch: number;
  seenAt: number;
}

const ROW_ID = 1;

/**
 * The topology row and the heartbeats on s0. Writes are compare-and-set on the epoch, so two
 * movers (or a mover and a stale re-run) cannot both advance it.
 */
export class TopologyStore {
  constructor(private readonly db: Kysely<Database>) {}

  async read(): Promise<Topology | undefined> {
    const row = await this.db.selectFrom('shard_topology').selectAll().where('id', '=', ROW_ID).executeTakeFirst();
    return row ? parse(row) : undefined;
  }

  /**
   * Stores `next` if the row's epoch is still `expected` (undefined: no row yet). False when
   * someone else changed it first. `next.epoch` must be above `expected`.
   */
  async write(next: Topology, expected: number | undefined, now: number): Promise<boolean> {
    if (expected !== undefined && next.epoch <= expected) throw new RangeError(`topology epoch must grow: ${expected} → ${next.epoch}`);
    const values = { epoch: next.epoch, state: next.state, shards: JSON.stringify(next.shards), updated_at: now };
    if (expected === undefined) {
      const inserted = await this.db
        .insertInto('shard_topology')
        .values({ id: ROW_ID, ...values })
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .executeTakeFirst();
      return inserted !== undefined;
    }
    const result = await this.db.updateTable('shard_topology').set(values).where('id', '=', ROW_ID).where('epoch', '=', expected).executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  /**
   * A serving process's heartbeat: it routes by `epoch` (and has no write in flight that was
   * routed by an older one) as of `now`.
   */
  async beat(processId: string, epoch: number, now: number): Promise<void> {
    await this.db
      .insertInto('shard_heartbeats')
      .values({ process_id: processId, epoch, seen_at: now })
      .onConflict((oc) => oc.column('process_id').doUpdateSet({ epoch, seen_at: now }))
      .execute();
  }

  /** Heartbeats seen at or after `since` (ms): the processes the mover considers live. */
  async heartbeats(since: number): Promise<Heartbeat[]> {
    const rows = await this.db.selectFrom('shard_heartbeats').selectAll().where('seen_at', '>=', since).orderBy('process_id').execute();
    return rows.map((r) => ({ processId: r.process_id, epoch: Number(r.epoch), seenAt: Number(r.seen_at) }));
  }

  /** Forgets a process (on its shutdown) and heartbeats older than `before`. */
  async forget(processId: string, before: number): Promise<void> {
    await this.db.deleteFrom('shard_heartbeats').where((eb) => eb.or([eb('process_id', '=', processId), eb('seen_at', '<', before)])).execute();
  }
}

function parse(row: { epoch: number | string; state: string; shards: string }): Topology {
  const state = row.state === 'migrating' ? 'migrating' : 'stable';
  const shards = JSON.parse(row.shards) as TopologyShard[];
  return { epoch: Number(row.epoch), state, shards };
}

/** host:port/path of a URL: two spellings of one database compare equal (no password, no options). */
export function sameDatabase(a: TopologyShard, b: TopologyShard): boolean {
  return canonical(a.url) === canonical(b.url) && (a.schema ?? '') === (b.schema ?? '');
}

function canonical(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return url;
  }
}
