import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './tny-process.js';

/**
 * A real PostgreSQL streaming replica for tests: a throwaway primary made with initdb (its own
 * pg_hba allows replication, so the machine's cluster is left alone) and a hot standby made
 * from it with `pg_basebackup -R`, both on free ports on 127.0.0.1, fsync off. ~1 s to start.
 * As root the servers run as the `postgres` user (PostgreSQL refuses root).
 */
export interface ReplicatedPair {
  primaryUrl: string;
  replicaUrl: string;
  /** Pauses or resumes WAL replay on the standby (to make replication lag on purpose). */
  pauseReplay(paused: boolean): void;
  /** 'not paused' | 'pause requested' | 'paused'. */
  replayState(): string;
  stop(): void;
}

function pgBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  throw new Error('no PostgreSQL server binaries (initdb) under /usr/lib/postgresql');
}

export async function startReplicatedPair(): Promise<ReplicatedPair> {
  const bin = pgBin();
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]): void => {
    const r = asRoot ? spawnSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { encoding: 'utf8' }) : spawnSync(join(bin, cmd), args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  };
  const dir = mkdtempSync(join(tmpdir(), 'tny-pg-replica-'));
  chmodSync(dir, 0o777);
  if (asRoot) {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    chownSync(dir, Number(id.stdout.trim()), Number(gid.stdout.trim()));
  }
  const primary = join(dir, 'primary');
  const replica = join(dir, 'replica');
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const started: string[] = [];
  const stop = (): void => {
    for (const data of started.reverse()) {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already gone
      }
    }
    started.length = 0;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    run('initdb', ['-D', primary, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    const common = [`listen_addresses = '127.0.0.1'`, `unix_socket_directories = '${dir}'`, 'fsync = off', 'full_page_writes = off'];
    appendFileSync(join(primary, 'postgresql.conf'), [...common, `port = ${primaryPort}`, 'wal_level = replica', 'max_wal_senders = 4', ''].join('\n'));
    appendFileSync(join(primary, 'pg_hba.conf'), 'host replication all 127.0.0.1/32 trust\n');
    run('pg_ctl', ['-D', primary, '-l', join(dir, 'primary.log'), '-w', 'start']);
    started.push(primary);
    run('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', replica, '-R', '-X', 'stream']);
    appendFileSync(join(replica, 'postgresql.conf'), `\nport = ${replicaPort}\nhot_standby = on\n`);
    run('pg_ctl', ['-D', replica, '-l', join(dir, 'replica.log'), '-w', 'start']);
    started.push(replica);
  } catch (error) {
    stop();
    throw error;
  }
  const replicaUrl = `postgres://postgres@127.0.0.1:${replicaPort}/postgres`;
  return {
    primaryUrl: `postgres://postgres@127.0.0.1:${primaryPort}/postgres`,
    replicaUrl,
    pauseReplay(paused) {
      const r = spawnSync('psql', [replicaUrl, '-Atc', paused ? 'select pg_wal_replay_pause()' : 'select pg_wal_replay_resume()'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
    },
    replayState() {
      const r = spawnSync('psql', [replicaUrl, '-Atc', 'select pg_get_wal_replay_pause_state()'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
      return r.stdout.trim();
    },
    stop,
  };
}
