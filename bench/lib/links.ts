import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/adapters/sql/open-database.js';
import { KyselyLinkRepository } from '../../src/adapters/sql/kysely-link-repository.js';
import type { NewLink } from '../../src/shortener/link.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `n` distinct random base62 keys of `length` characters (the counter strategy's shape). */
export function randomKeys(n: number, length = 7): string[] {
  const keys = new Set<string>();
  let pool = randomBytes(0);
  let at = 0;
  while (keys.size < n) {
    let key = '';
    while (key.length < length) {
      if (at >= pool.length) {
        pool = randomBytes(64 * 1024);
        at = 0;
      }
      const b = pool[at++] as number;
      if (b < 248) key += BASE62[b % 62]; // 248 = 4 × 62: no modulo bias
    }
    keys.add(key);
  }
  return [...keys];
}

export function urlFor(i: number, key: string): string {
  return `https://example.com/articles/${i}/${key.toLowerCase()}?utm_source=tny-bench&utm_medium=link`;
}

export interface LoadedLinks {
  keys: string[];
  urls: string[];
  ms: number;
  /** One path per line (`/key`), for the load generator. */
  pathsFile: string;
  /** `key<TAB>url` per line, for the baseline server. */
  mapFile: string;
}

/**
 * Creates tny's schema in `dataDir` and inserts `n` links (302, no expiry, no limit) through
 * the repository's insertMany, in transactions of `batch` links.
 */
export async function bulkLoadLinks(dataDir: string, n: number, batch = 20_000): Promise<LoadedLinks> {
  const started = Date.now();
  const keys = randomKeys(n);
  const urls = keys.map((k, i) => urlFor(i, k));
  const db = await openDatabase({ dataDir, poolSize: 1 });
  try {
    const repo = new KyselyLinkRepository(db.db, db.dialect);
    const now = Date.now();
    for (let i = 0; i < n; i += batch) {
      const part: NewLink[] = [];
      for (let j = i; j < Math.min(n, i + batch); j++) {
        part.push({
          key: keys[j] as string,
          url: urls[j] as string,
          accountId: 1,
          createdAt: now,
          updatedAt: now,
          expiresAt: null,
          maxClicks: null,
          redirectStatus: 302,
          passwordHash: null,
          tags: [],
          forwardQuery: false,
          disabled: false,
        });
      }
      const result = await repo.insertMany(part);
      const conflicts = result.filter((r) => r === 'conflict').length;
      if (conflicts > 0) throw new Error(`bulk load: ${conflicts} conflicts in a batch`);
    }
  } finally {
    await db.close();
  }
  const pathsFile = join(dataDir, 'bench-paths.txt');
  writeFileSync(pathsFile, keys.map((k) => `/${k}`).join('\n') + '\n');
  const mapFile = join(dataDir, 'bench-map.tsv');
  writeFileSync(mapFile, keys.map((k, i) => `${k}\t${urls[i]}`).join('\n') + '\n');
  return { keys, urls, ms: Date.now() - started, pathsFile, mapFile };
}
