/**
 * `npm run bench:create`: links created per second through POST /api/v1/links on SQLite,
 * against two bare node:http servers inserting into an equivalent table, in the same run,
 * interleaved: `baseline` does one INSERT (one transaction) per request, `bare+group` commits
 * the INSERTs of one event-loop turn together as tny does; plus the storage ceiling (an
 * INSERT loop, no HTTP).
 * Afterwards it checks that every 201 has its row (no lost creates).
 *
 * Env: BENCH_ROUNDS (5), BENCH_ROUND_SECONDS (5), BENCH_CONNECTIONS (50), BENCH_PROFILE=1,
 * BENCH_TOOL=autocannon, BENCH_PIN=0.
 */
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { waitForQuiet } from './lib/cpu.js';
import { runPost, type LoadResult } from './lib/load.js';
import { metricValue, scrape } from './lib/metrics.js';
import { sleep } from './lib/net.js';
import { pinned, pinning, removeDir, ROOT, startBaseline, startTny, tempDir, type ServerProcess } from './lib/process.js';
import { profileFlags, profilesIn } from './lib/profile.js';
import { environment, environmentLine, goal, goalLine, summaryTable, writeResults } from './lib/report.js';
import { alternatingRounds, type Summary } from './lib/rounds.js';
import { fmt, fmtInt, round } from './lib/stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_S = Number(process.env.BENCH_ROUND_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const GOAL = 3500;

const log = (s = '') => console.log(s);

/** Rows/s of single-row INSERTs (each its own transaction) into the equivalent table. */
function storageCeiling(dir: string, seconds: number): { rows: number; seconds: number; rowsPerSecond: number } {
  const [command, args] = pinned(pinning.serverCpu, process.execPath, [
    join(ROOT, 'bench/baseline-server.js'),
    'insert-loop',
    join(dir, 'ceiling.db'),
    String(seconds),
  ]);
  const out = spawnSync(command, args, { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`insert loop failed: ${out.stderr}`);
  const r = JSON.parse(out.stdout) as { rows: number; seconds: number };
  return { ...r, rowsPerSecond: r.rows / r.seconds };
}

function countRows(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('select count(*) as n from short_urls').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const created = (r: LoadResult) => r.requests - r.errorResponses;

async function main(): Promise<void> {
  const busyBefore = await waitForQuiet(60, 0.1, log);
  const env = environment();
  log(`bench:create — POST /api/v1/links, ${CONNECTIONS} connections, ${ROUNDS} rounds × ${ROUND_S} s per server, unique URL per request`);
  log(environmentLine(env));

  const dir = tempDir('create');
  const tnyDir = join(dir, 'tny');
  const servers: ServerProcess[] = [];
  const profile = profileFlags('create');
  const runId = Date.now().toString(36);
  try {
    const tny = await startTny({
      dataDir: tnyDir,
      env: { RATE_LIMIT_WRITE_BURST: '1000000000', RATE_LIMIT_WRITE_PER_SECOND: '1000000000' },
      nodeFlags: profile.flags,
    });
    servers.push(tny);
    if (!tny.adminKey) throw new Error(`tny printed no admin key:\n${tny.output()}`);
    const auth = { Authorization: `Bearer ${tny.adminKey}` };
    const baselineDb = join(dir, 'baseline.db');
    const baseline = await startBaseline('create', baselineDb);
    servers.push(baseline);
    const grouped = await startBaseline('create-batched', join(dir, 'baseline-batched.db'), 'bare+group');
    servers.push(grouped);

    // Sanity: both answer 201 with a key.
    for (const s of [tny, baseline, grouped]) {
      const res = await fetch(`${s.url}/api/v1/links`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify({ url: `https://example.com/bench/${runId}/sanity` }),
      });
      if (res.status !== 201) throw new Error(`${s.name}: POST answered ${res.status}: ${await res.text()}`);
    }
    let tnyClient201 = 1;
    let tnyRuns = 0;

    const post = (server: ServerProcess, tag: string, durationS = ROUND_S) => async () => {
      const r = await runPost({
        baseUrl: server.url,
        path: '/api/v1/links',
        prefix: `${runId}-${tag}`,
        headers: server === tny ? auth : {},
        durationS,
        connections: CONNECTIONS,
      });
      if (server === tny) {
        tnyClient201 += created(r);
        tnyRuns++;
      }
      return r;
    };

    log('warm-up: 3 s each …');
    await post(tny, 'warm', 3)();
    await post(baseline, 'warm', 3)();
    await post(grouped, 'warm', 3)();

    log(`${ROUNDS} alternating rounds of ${ROUND_S} s …`);
    const [t, b, g] = await alternatingRounds(
      [
        { name: 'tny', run: (r) => post(tny, `r${r}`)(), pid: tny.pid },
        { name: 'baseline', run: (r) => post(baseline, `r${r}`)(), pid: baseline.pid },
        { name: 'bare+group', run: (r) => post(grouped, `r${r}`)(), pid: grouped.pid },
      ],
      ROUNDS,
      (s) => log(s),
    );
    if (!t || !b || !g) throw new Error('no results');

    // Let the last in-flight requests finish, then compare 201s with rows.
    await sleep(1000);
    const metrics = await scrape(tny.url);
    const server201 = metricValue(metrics, 'tny_http_request_duration_seconds_count', { method: 'POST', route: '/api/v1/links', status: '201' });
    const server5xx = ['500', '503'].reduce(
      (n, status) => n + metricValue(metrics, 'tny_http_request_duration_seconds_count', { method: 'POST', route: '/api/v1/links', status }),
      0,
    );
    const tnyRssMb = tny.rssMb();
    for (const s of servers.splice(0)) await s.stop();
    const rows = countRows(join(tnyDir, 'tny.db'));
    // wrk stops with requests in flight: the server may still create those links, whose 201
    // the client never counts. So rows may exceed the client's 201s by at most one request
    // per connection per run; a row missing for a counted 201 would be a lost create.
    const inFlightBound = CONNECTIONS * tnyRuns;
    const lost = tnyClient201 - rows;
    const extra = rows - tnyClient201;
    const consistent = lost <= 0 && extra <= inFlightBound && rows === server201;

    log('measuring the storage ceiling (INSERT loop, no HTTP, 5 s) …');
    const ceiling = storageCeiling(dir, 5);

    const ratio = t.medianRps / b.medianRps;
    const groupRatio = t.medianRps / g.medianRps;
    const goals = [goal('tny links/s', t.medianRps, '>=', GOAL)];

    log();
    log('='.repeat(100));
    log(`bench:create results (${environmentLine(env)})`);
    log();
    log(summaryTable([t, b, g], 'links/s'));
    log(`ratio tny/baseline (one INSERT per request): ${fmt(ratio)} links/s (cross-check by server CPU per request: ${fmt(b.cpuUsPerRequest / t.cpuUsPerRequest)})`);
    log(
      `ratio tny/bare+group (the same group commit, no validation, auth, rate limit or key scramble): ${fmt(groupRatio)} links/s ` +
        `(by server CPU per request: ${fmt(g.cpuUsPerRequest / t.cpuUsPerRequest)})`,
    );
    log(
      `storage ceiling (single-row INSERT loop, one transaction each, no HTTP): ${fmtInt(ceiling.rowsPerSecond)} rows/s; ` +
        `tny reaches ${fmt((t.medianRps / ceiling.rowsPerSecond) * 100, 1)}% of it`,
    );
    log(goalLine(goals[0]!, `${fmtInt(t.medianRps)}/s`));
    log(
      `${consistent ? 'PASS' : 'FAIL'}  no lost creates: ${fmtInt(rows)} rows in tny's database; ${fmtInt(tnyClient201)} 201s seen by the client ` +
        `(${fmtInt(Math.max(0, extra))} more rows than client 201s, at most ${inFlightBound} may be in flight at the ${tnyRuns} cut-offs); ` +
        `${fmtInt(server201)} 201s sent by the server (tny metrics); 5xx: ${server5xx}`,
    );
    log(`tny RSS at the end: ${fmt(tnyRssMb, 0)} MB`);

    const brief = (x: Summary) => ({
      medianLinksPerSecond: round(x.medianRps, 0),
      p50Ms: round(x.p50Ms, 3),
      p99Ms: round(x.p99Ms, 3),
      cpuUsPerRequest: round(x.cpuUsPerRequest, 2),
      cpuShare: round(x.cpuShare, 3),
      requests: x.requests,
      errors: x.errorResponses + x.socketErrors,
      rounds: x.rounds.map((r) => ({
        linksPerSecond: round(r.rps, 0),
        p50Ms: r.latencyMs.p50,
        p99Ms: r.latencyMs.p99,
        requests: r.requests,
        cpuUsPerRequest: round(r.serverCpuUsPerRequest, 2),
      })),
    });
    const file = writeResults('create', {
      command: 'npm run bench:create',
      environment: { ...env, busyBeforeStart: round(busyBefore, 3) },
      parameters: { rounds: ROUNDS, roundSeconds: ROUND_S, connections: CONNECTIONS, database: 'sqlite' },
      tny: brief(t),
      baseline: brief(b),
      baselineGroupCommit: brief(g),
      ratio: round(ratio, 3),
      cpuRatio: round(b.cpuUsPerRequest / t.cpuUsPerRequest, 3),
      ratioToGroupCommit: round(groupRatio, 3),
      cpuRatioToGroupCommit: round(g.cpuUsPerRequest / t.cpuUsPerRequest, 3),
      storageCeilingRowsPerSecond: round(ceiling.rowsPerSecond, 0),
      verification: { rows, client201: tnyClient201, server201, server5xx, inFlightBound, consistent },
      goals,
      pass: goals.every((g) => g.pass) && consistent,
    });
    log(`results: ${file}`);
    if (profile.dir) {
      await sleep(200);
      log(`tny CPU profile: ${profilesIn(profile.dir).join(', ')} (npx tsx bench/profile-top.ts <file>)`);
    }
  } finally {
    for (const s of servers) await s.stop();
    removeDir(dir);
  }
}

await main();
