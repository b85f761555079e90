import type { Command } from 'commander';
import { openStorage } from '../adapters/sharding/open-storage.js';
import { addShard, type ReshardEvent } from '../adapters/sharding/reshard.js';
import type { ReshardPlan } from '../adapters/sharding/reshard-plan.js';
import { openShard } from '../adapters/sharding/shard-set.js';
import { redactUrl, shardTargets } from '../adapters/sharding/shard-urls.js';
import { systemClock } from '../platform/clock.js';
import { Progress } from './progress.js';
import type { CliRuntime, Io } from './runtime.js';

const ADD_HELP = `
Adds a PostgreSQL database as the next shard while tny serves (docs/sharding.md, "Resharding"):
prints the plan (keys per shard that move: about 1/(N+1) of them), waits until every running
tny process routes by the new topology, moves those keys in verified batches (count and
checksum) and deletes them from their old shard, sweeps again, verifies every key is on its
shard, and records the new topology on s0. Lookups never miss a key while it moves.
Run it again after a crash or Ctrl-C: it resumes. Then add the URL to DATABASE_SHARDS.`;

/** `tny shards add`: resharding, over the mover in src/adapters/sharding/reshard.ts. */
export function shardsCommand(program: Command, runtime: CliRuntime): void {
  const shards = program.command('shards').description('manage the shards links are spread over');
  shards
    .command('add <url>')
    .description('add a PostgreSQL database as a new shard and move its keys to it while serving')
    .option('--dry-run', 'print the plan only')
    .option('--batch <links>', 'links per moved batch (1 to 10000)', '1000')
    .option('--ack-timeout <ms>', 'longest wait for running processes to take the new topology', '60000')
    .option('--schema <name>', 'PostgreSQL schema of the new shard (several shards in one database)')
    .addHelpText('after', ADD_HELP)
    .action(async (url: string, opts: { dryRun?: boolean; batch: string; ackTimeout: string; schema?: string }) => {
      const io = runtime.io;
      const batchSize = Number(opts.batch);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) io.fail(`--batch must be a whole number from 1 to 10000, got "${opts.batch}"`);
      const ackTimeoutMs = Number(opts.ackTimeout);
      if (!Number.isInteger(ackTimeoutMs) || ackTimeoutMs < 0) io.fail(`--ack-timeout must be a whole number of ms, got "${opts.ackTimeout}"`);
      try {
        new URL(url);
      } catch {
        io.fail('the new shard must be a postgres:// URL');
      }
      const config = runtime.config();
      if (!shardTargets(config)) io.fail('tny shards add needs DATABASE_SHARDS (the shards there now)');
      const database = await openStorage(config, { databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: 4 }, { warn: (m) => io.err(`warning: ${m}`) });
      const set = database.shards!;
      let progress: Progress | undefined;
      try {
        const result = await addShard({
          set,
          target: { url, ...(opts.schema ? { schema: opts.schema } : {}) },
          open: (t, index) => openShard(t, index, { poolSize: 4 }),
          clock: systemClock,
          pollMs: config.TNY_TOPOLOGY_POLL_MS,
          ackTimeoutMs,
          batchSize,
          dryRun: opts.dryRun === true,
          report: (event) => {
            if (event.type === 'progress') {
              progress ??= new Progress(io.stderr, { label: 'moving', total: event.total, clock: systemClock });
              progress.update(event.moved, event.moved);
              return;
            }
            progress?.finish();
            printEvent(io, event);
          },
        });
        if (!result.changed && !opts.dryRun) io.out(`${redactUrl(url)} is already a shard of this set: nothing to do`);
      } finally {
        progress?.finish();
        await database.close();
      }
    });
}

function printEvent(io: Io, event: ReshardEvent): void {
  switch (event.type) {
    case 'plan':
      printPlan(io, event.plan, event.resumed);
      return;
    case 'waiting':
      io.err(`waiting for ${event.lagging.length} process(es) to route by epoch ${event.epoch}: ${event.lagging.map((h) => `${h.processId} (epoch ${h.epoch})`).join(', ')}`);
      return;
    case 'acked':
      io.out(`${event.processes} live process(es) route by epoch ${event.epoch}; moving`);
      return;
    case 'sweep':
      io.out(`sweep: ${event.moved.toLocaleString('en-US')} more key(s) moved`);
      return;
    case 'verified':
      io.out(`verified: ${event.keys.toLocaleString('en-US')} keys, each on its shard of ${event.shards}`);
      return;
    case 'done':
      io.out(`done: moved ${event.moved.toLocaleString('en-US')} keys; the topology on s0 is stable with ${event.shards.length} shards`);
      io.out(`update DATABASE_SHARDS to: ${event.shards.map((s) => redactUrl(s.url)).join(',')}`);
      return;
    case 'progress':
      return;
  }
}

function printPlan(io: Io, plan: ReshardPlan, resumed: boolean): void {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  io.out(`${resumed ? 'resuming: ' : ''}plan: adding s${plan.from} to ${plan.from} shard(s)`);
  for (const s of plan.shards) io.out(`  ${s.shard}: ${s.keys.toLocaleString('en-US')} keys, ${s.moving.toLocaleString('en-US')} move`);
  io.out(
    `  total: ${plan.keys.toLocaleString('en-US')} keys, ${plan.moving.toLocaleString('en-US')} move (${pct(plan.fraction)}; ` +
      `consistent hashing moves about 1/${plan.to} = ${pct(plan.expected)})`,
  );
}
