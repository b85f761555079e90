import { sql } from 'kysely';
import { ConfigError } from '../../config/fields.js';
import type { Clock } from '../../platform/clock.js';
import type { HealthCheck } from '../../platform/health/health.js';
import { pingCheck } from '../../platform/health/ping-check.js';
import type { LinkRepository } from '../../shortener/ports.js';
import { openPostgres, type PostgresHandle } from '../postgres/open-postgres.js';
import { redactUrl } from '../sharding/shard-urls.js';
import { ShardedLinkRepository } from '../sharding/sharded-link-repository.js';
import { KyselyLinkRepository } from '../sql/kysely-link-repository.js';
import type { OpenedDatabase } from '../sql/open-database.js';
import { ReplicaRoutedLinkRepository } from './replica-routed-links.js';

/**
 * DATABASE_REPLICAS: read replicas, one group per database in order — the DATABASE_URL, or each
 * DATABASE_SHARDS entry (`s0`, `s1`…) — groups separated by `;`, URLs in a group by `,`. An empty
 * group is a database without replicas; missing trailing groups too.
 *   DATABASE_URL=postgres://p  DATABASE_REPLICAS=postgres://r1,postgres://r2
 *   DATABASE_SHARDS=postgres://a,postgres://b  DATABASE_REPLICAS=postgres://a-r1;postgres://b-r1
 */
export function parseReplicaGroups(raw: string | undefined, databases: number, dialect: 'sqlite' | 'postgres'): string[][] {
  const text = (raw ?? '').trim();
  if (text === '') return [];
  if (dialect !== 'postgres') throw new ConfigError('DATABASE_REPLICAS: replicas are PostgreSQL streaming replicas; set DATABASE_URL or DATABASE_SHARDS too');
  const groups = text.split(';').map((g) =>
    g
      .split(',')
      .map((u) => u.trim())
      .filter((u) => u !== ''),
  );
  if (groups.length > databases) {
    throw new ConfigError(`DATABASE_REPLICAS: ${groups.length} groups (separated by ";") for ${databases} database${databases === 1 ? '' : 's'}: one group per database, in order`);
  }
  groups.forEach((group, g) =>
    group.forEach((u, i) => {
      let parsed: URL;
      try {
        parsed = new URL(u);
      } catch {
        throw new ConfigError(`DATABASE_REPLICAS: group ${g + 1}, entry ${i + 1} is not a URL`);
      }
      if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
        throw new ConfigError(`DATABASE_REPLICAS: group ${g + 1}, entry ${i + 1} (${redactUrl(u)}) must be a postgres:// URL`);
      }
    }),
  );
  return groups;
}

/** The links repository with replica routing, the replicas' health checks, and their close(). */
export interface ReplicatedLinks {
  links: LinkRepository;
  /** For the cache invalidation bus: a change made by another process, so reads of the key go to the primary for a while. */
  noteWrite(key: string): void;
  health: HealthCheck[];
  close(): Promise<void>;
}

/**
 * Opens every replica (an unreachable one fails the start, named) and wraps each database's
 * link repository in a ReplicaRoutedLinkRepository; a database without replicas keeps its plain
 * repository. Returns undefined when no replicas are configured.
 */
export async function openReplicatedLinks(
  database: OpenedDatabase,
  raw: string | undefined,
  options: { lagBoundMs: number; clock: Clock; poolSize: number; onReplicaError?: (error: unknown, label: string) => void },
): Promise<ReplicatedLinks | undefined> {
  const primaries = database.shards ? database.shards.shards.map((s) => ({ name: s.name, db: s.database })) : [{ name: 'primary', db: database }];
  const groups = parseReplicaGroups(raw, primaries.length, database.dialect);
  if (groups.every((g) => g.length === 0)) return undefined;
  const opened: PostgresHandle[] = [];
  const routers = new Map<string, ReplicaRoutedLinkRepository>();
  const health: HealthCheck[] = [];
  try {
    for (const [i, group] of groups.entries()) {
      const primary = primaries[i]!;
      const replicas: LinkRepository[] = [];
      for (const [j, url] of group.entries()) {
        const label = `${primary.name}:replica${j + 1}`;
        let handle: PostgresHandle;
        try {
          handle = await openPostgres(url, { poolSize: options.poolSize });
          await sql`select 1`.execute(handle.db);
        } catch (error) {
          throw new ConfigError(`DATABASE_REPLICAS: replica ${j + 1} of ${primary.name} (${redactUrl(url)}) is unreachable: ${error instanceof Error ? error.message : String(error)}`);
        }
        opened.push(handle);
        replicas.push(new KyselyLinkRepository(handle.db, 'postgres'));
        health.push(
          // A replica down is a warning: its reads go to the primary meanwhile.
          pingCheck(`database:${label}`, () => sql`select 1`.execute(handle.db), {
            whenDown: 'warning',
            details: { of: primary.name, url: redactUrl(url), lag_bound_ms: options.lagBoundMs },
          }),
        );
      }
      if (replicas.length > 0) {
        routers.set(
          primary.name,
          new ReplicaRoutedLinkRepository(new KyselyLinkRepository(primary.db.db, primary.db.dialect), replicas, {
            lagBoundMs: options.lagBoundMs,
            clock: options.clock,
            ...(options.onReplicaError ? { onReplicaError: (e, r) => options.onReplicaError!(e, `${primary.name}:replica${r + 1}`) } : {}),
          }),
        );
      }
    }
  } catch (error) {
    await Promise.all(opened.map((h) => h.close()));
    throw error;
  }
  const set = database.shards;
  const links = set
    ? new ShardedLinkRepository(set, (s) => routers.get(s.name) ?? new KyselyLinkRepository(s.database.db, s.database.dialect))
    : (routers.get('primary') as LinkRepository);
  return {
    links,
    noteWrite(key) {
      // While a shard is being added a key has two candidate shards (ADR 8): note both.
      const names = set ? set.candidates(key).map((s) => s.name) : ['primary'];
      for (const name of names) routers.get(name)?.noteWrite(key);
    },
    health,
    async close() {
      await Promise.all(opened.map((h) => h.close()));
    },
  };
}
