import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, freePort, killAll, spawnTny } from '../helpers/tny-process.js';

/**
 * Bad or unreachable configuration fails `tny serve` at start (real processes): exit 2 and ONE
 * line on stderr naming what is wrong, never a password, never an admin key printed first.
 */
let root: string;
let closedPort: number;
beforeAll(async () => {
  assertBuilt();
  root = mkdtempSync(join(tmpdir(), 'tny-startup-'));
  closedPort = await freePort();
});
afterAll(async () => {
  await killAll();
  rmSync(root, { recursive: true, force: true });
});

/** `lines`: the registry's own checks list every bad variable under a heading (2 lines for one). */
async function expectStartFailure(args: string[], env: Record<string, string>, message: RegExp, lines = 1): Promise<string> {
  const proc = spawnTny(args, { DATA_DIR: join(root, randomBytes(4).toString('hex')), PORT: '0', LOG_LEVEL: 'warn', ...env });
  const exit = await proc.waitExit(15_000);
  const stderr = proc.stderr();
  expect(exit, stderr).toEqual({ code: 2, signal: null });
  expect(stderr.trimEnd().split('\n'), stderr).toHaveLength(lines);
  expect(stderr).toMatch(/^tny: /);
  expect(stderr).toMatch(message);
  expect(stderr + proc.stdout()).not.toContain('hunter2');
  expect(proc.stdout()).not.toMatch(/tny_[0-9A-Za-z]{12}_/);
  return stderr;
}

describe('start-up checks (real processes)', () => {
  const rows: Array<[string, string[], () => Record<string, string>, RegExp, number?]> = [
    [
      'DATABASE_URL unreachable',
      ['serve'],
      () => ({ DATABASE_URL: `postgres://tny:hunter2@127.0.0.1:${closedPort}/tny` }),
      /^tny: DATABASE_URL: cannot reach PostgreSQL at 127\.0\.0\.1:\d+\/tny \(.*ECONNREFUSED/,
    ],
    [
      'DATABASE_SHARDS with unreachable entries (the first is named)',
      ['serve'],
      () => ({ DATABASE_SHARDS: `postgres://tny:hunter2@127.0.0.1:${closedPort}/s0,postgres://tny:hunter2@127.0.0.1:${closedPort}/s1` }),
      /^tny: DATABASE_SHARDS \(entry 0, s0\): cannot reach PostgreSQL at 127\.0\.0\.1:\d+\/s0/,
    ],
    ['REDIS_URL unreachable', ['serve'], () => ({ REDIS_URL: `redis://:hunter2@127.0.0.1:${closedPort}` }), /^tny: REDIS_URL: cannot reach Redis at 127\.0\.0\.1:\d+ \(.*ECONNREFUSED/],
    ['an unknown --role', ['serve', '--role', 'cron'], () => ({}), /^tny: --role: must be one of api, worker, all, got "cron"/],
    ['an unknown TNY_ROLE', ['serve'], () => ({ TNY_ROLE: 'cron' }), /^tny: invalid configuration:\n {2}TNY_ROLE must be one of api, worker, all, got "cron"/, 2],
    ['CACHE_BLOOM=on without REDIS_URL', ['serve', '--role', 'api'], () => ({ CACHE_BLOOM: 'on' }), /^tny: CACHE_BLOOM=on needs REDIS_URL/],
  ];
  it.each(rows)('%s: exit 2 with one line naming it', async (_name, args, env, message, lines) => {
    await expectStartFailure(args, env(), message, lines);
  });
});

const pgUrl = process.env.DATABASE_URL_TEST;
const redisUrl = process.env.REDIS_URL_TEST;
const haveServices = pgUrl !== undefined && redisUrl !== undefined;
if (!haveServices && process.env.TNY_REQUIRE_SERVICES !== '1') console.warn('[tny] DATABASE_URL_TEST/REDIS_URL_TEST not set: PostgreSQL start-up checks not run');

// Left out (with the notice above) without the services, unless TNY_REQUIRE_SERVICES=1: then it fails.
if (haveServices || process.env.TNY_REQUIRE_SERVICES === '1') describe('start-up on PostgreSQL and Redis (real processes)', () => {
  // A database of its own, so the migrations of the processes touch nobody else's tables.
  const name = `tny_e2e_${randomBytes(5).toString('hex')}`;
  let url = '';
  beforeAll(async () => {
    if (!haveServices) throw new Error('DATABASE_URL_TEST and REDIS_URL_TEST must be set (TNY_REQUIRE_SERVICES=1)');
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(pgUrl!);
    u.pathname = `/${name}`;
    url = u.toString();
  });
  afterAll(async () => {
    if (!haveServices) return;
    await killAll();
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });

  it('a database that does not exist is named', async () => {
    const u = new URL(url);
    u.pathname = `/${name}_missing`;
    await expectStartFailure(['serve'], { DATABASE_URL: u.toString() }, new RegExp(`^tny: DATABASE_URL: cannot reach PostgreSQL at .*/${name}_missing \\(3D000: database "${name}_missing" does not exist\\)`));
  });

  it('--role worker with nothing to deliver (PostgreSQL, no queue) fails, naming what is missing', async () => {
    await expectStartFailure(['serve', '--role', 'worker'], { DATABASE_URL: url, QUEUE: 'sqlite' }, /^tny: --role worker: .*needs a queue .*QUEUE=bullmq/);
  });

  it('--role api on PostgreSQL + Redis starts; /health/detailed shows the database, Redis and the role with latencies', async () => {
    const port = await freePort();
    const proc = spawnTny(['serve', '--role', 'api'], { DATABASE_URL: url, REDIS_URL: redisUrl!, CACHE_REDIS_PREFIX: `tnytest:${name}:`, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn' });
    const base = `http://127.0.0.1:${port}`;
    for (const deadline = Date.now() + 15_000; !(await fetch(`${base}/health`).then((r) => r.ok, () => false)); ) {
      if (Date.now() > deadline || proc.child.exitCode !== null) throw new Error(`did not start:\n${proc.stderr()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const res = await fetch(`${base}/health/detailed`);
    const body = (await res.json()) as { status: string; role: string; checks: Record<string, Record<string, unknown>> };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.role).toBe('api');
    expect(body.checks.database).toMatchObject({ status: 'healthy', engine: 'postgres' });
    expect(body.checks.redis).toMatchObject({ status: 'healthy' });
    expect(body.checks.process).toMatchObject({ role: 'api', delivery_workers: 0 });
    for (const check of Object.values(body.checks)) expect(typeof check.latency_ms).toBe('number');
    proc.child.kill('SIGTERM');
    expect(await proc.waitExit(10_000)).toEqual({ code: 0, signal: null });
  });
});
