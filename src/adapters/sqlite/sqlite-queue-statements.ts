import type SqliteDatabase from 'better-sqlite3';

type Statement<P extends unknown[], R = unknown> = SqliteDatabase.Statement<P, R>;

export interface JobRow {
  id: number;
  queue: string;
  state: string;
  priority: number;
  run_at: number;
  payload: string;
  attempts: number;
  max_attempts: number;
  lease_token: string | null;
  last_error: string | null;
  created_at: number;
  dead_at: number | null;
}

const JOB = 'id, queue, state, priority, run_at, payload, attempts, max_attempts, lease_token, last_error, created_at, dead_at';

export interface QueueStatements {
  insert: Statement<[string, number, number, string, number, string | null, number]>;
  byDedupe: Statement<[string, string], { id: number; state: string; run_at: number }>;
  remove: Statement<[number]>;
  nextPriority: Statement<[string, number], { priority: number }>;
  dueAt: Statement<[string, number, number, number], { id: number; attempts: number; max_attempts: number; last_error: string | null }>;
  minRunAt: Statement<[string, number], { m: number | null }>;
  take: Statement<[string, number, number], JobRow>;
  kill: Statement<[string, number, number]>;
  extend: Statement<[number, number, string]>;
  ack: Statement<[number, string]>;
  ackKeep: Statement<[number, number, string]>;
  purgeDone: Statement<[number]>;
  held: Statement<[number, string], { attempts: number; max_attempts: number }>;
  retry: Statement<[number, string | null, number]>;
  dead: Statement<[string, number, number], JobRow>;
  revive: Statement<[number, number, string]>;
  countDead: Statement<[string], { n: number }>;
  pendingStats: Statement<[number, number, number, string], { ready: number | null; delayed: number | null; leased: number | null }>;
}

/** The queue's SQL, prepared once per connection. `run_at` is the next moment a pending job is visible. */
export function queueStatements(raw: SqliteDatabase.Database): QueueStatements {
  return {
    insert: raw.prepare(
      'INSERT INTO queue_jobs (queue, state, priority, run_at, payload, attempts, max_attempts, dedupe_key, created_at) ' +
        "VALUES (?, 'pending', ?, ?, ?, 0, ?, ?, ?)",
    ),
    byDedupe: raw.prepare('SELECT id, state, run_at FROM queue_jobs WHERE queue = ? AND dedupe_key = ?'),
    remove: raw.prepare('DELETE FROM queue_jobs WHERE id = ?'),
    // Skip-scan over the distinct pending priorities: one index seek each.
    nextPriority: raw.prepare(
      "SELECT priority FROM queue_jobs WHERE queue = ? AND state = 'pending' AND priority > ? ORDER BY priority LIMIT 1",
    ),
    dueAt: raw.prepare(
      'SELECT id, attempts, max_attempts, last_error FROM queue_jobs ' +
        "WHERE queue = ? AND state = 'pending' AND priority = ? AND run_at <= ? ORDER BY run_at, id LIMIT ?",
    ),
    minRunAt: raw.prepare("SELECT min(run_at) AS m FROM queue_jobs WHERE queue = ? AND state = 'pending' AND priority = ?"),
    take: raw.prepare(`UPDATE queue_jobs SET lease_token = ?, run_at = ?, attempts = attempts + 1 WHERE id = ? RETURNING ${JOB}`),
    kill: raw.prepare("UPDATE queue_jobs SET state = 'dead', last_error = ?, dead_at = ? WHERE id = ?"),
    extend: raw.prepare("UPDATE queue_jobs SET run_at = ? WHERE id = ? AND lease_token = ? AND state = 'pending'"),
    // A dead row still carrying the token was dead-lettered because its last lease expired;
    // the late ack of that very delivery clears it.
    ack: raw.prepare("DELETE FROM queue_jobs WHERE id = ? AND lease_token = ? AND state IN ('pending', 'dead')"),
    ackKeep: raw.prepare(
      "UPDATE queue_jobs SET state = 'done', priority = 0, run_at = ?, lease_token = NULL, payload = 'null' " +
        "WHERE id = ? AND lease_token = ? AND state IN ('pending', 'dead') AND dedupe_key IS NOT NULL",
    ),
    purgeDone: raw.prepare(
      "DELETE FROM queue_jobs WHERE id IN (SELECT id FROM queue_jobs WHERE state = 'done' AND run_at <= ? LIMIT 1000)",
    ),
    held: raw.prepare("SELECT attempts, max_attempts FROM queue_jobs WHERE id = ? AND lease_token = ? AND state = 'pending'"),
    retry: raw.prepare('UPDATE queue_jobs SET run_at = ?, lease_token = NULL, last_error = ? WHERE id = ?'),
    dead: raw.prepare(`SELECT ${JOB} FROM queue_jobs WHERE queue = ? AND state = 'dead' AND id > ? ORDER BY id LIMIT ?`),
    revive: raw.prepare(
      "UPDATE queue_jobs SET state = 'pending', attempts = 0, run_at = ?, lease_token = NULL, dead_at = NULL " +
        "WHERE id = ? AND queue = ? AND state = 'dead'",
    ),
    countDead: raw.prepare("SELECT count(*) AS n FROM queue_jobs WHERE queue = ? AND state = 'dead'"),
    pendingStats: raw.prepare(
      'SELECT sum(run_at <= ?) AS ready, sum(run_at > ? AND lease_token IS NULL) AS delayed, ' +
        "sum(run_at > ? AND lease_token IS NOT NULL) AS leased FROM queue_jobs WHERE queue = ? AND state = 'pending'",
    ),
  } as QueueStatements;
}
