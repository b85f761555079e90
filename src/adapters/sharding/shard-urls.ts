/** The databases links are sharded over, from DATABASE_SHARDS or DATABASE_URL. */
export interface ShardTarget {
  /** Stable name used on the ring: `s0`, `s1`… by position, never by URL spelling. */
  name: string;
  url: string;
  /** PostgreSQL schema (tests put several shards in one database); the URL's default otherwise. */
  schema?: string;
}

/** Most shards a set may have: the id interleaving (shard-ids.ts) reserves this many residues. */
export const MAX_SHARDS = 256;

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`, for messages and health. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/**
 * The shard list from configuration, checked: DATABASE_SHARDS (every entry a postgres:// URL,
 * no duplicates) or, when it is unset, DATABASE_URL as the only shard. Both set is an error:
 * which one wins would be a guess. Errors name the variable and the entry's position.
 */
export function shardTargets(config: { DATABASE_SHARDS: readonly string[]; DATABASE_URL?: string | undefined }): ShardTarget[] | undefined {
  const list = config.DATABASE_SHARDS;
  if (list.length === 0) return undefined;
  if (config.DATABASE_URL) {
    throw new Error('DATABASE_SHARDS and DATABASE_URL are both set: set only DATABASE_SHARDS (a single database is DATABASE_URL alone)');
  }
  if (list.length > MAX_SHARDS) throw new Error(`DATABASE_SHARDS: at most ${MAX_SHARDS} shards, got ${list.length}`);
  const seen = new Map<string, number>();
  return list.map((raw, index) => {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new Error(`DATABASE_SHARDS: entry ${index} (s${index}) is not a URL`);
    }
    if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
      throw new Error(`DATABASE_SHARDS: entry ${index} (s${index}, ${redactUrl(raw)}) must start with postgres: or postgresql:, got "${parsed.protocol}"`);
    }
    const canonical = `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
    const earlier = seen.get(canonical);
    if (earlier !== undefined) {
      throw new Error(`DATABASE_SHARDS: entries ${earlier} and ${index} are the same database (${redactUrl(raw)})`);
    }
    seen.set(canonical, index);
    return { name: `s${index}`, url: raw };
  });
}
