import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Container } from '../../src/main/container.js';
import type { TestCli } from '../helpers/cli.js';
import { spawnTny } from '../helpers/tny-process.js';

/**
 * Runs the compiled `tny` with TNY_FAULT_KILL=point and checks it died there (SIGKILL), not
 * earlier or later: the point is reached, and nothing after it ran.
 */
export async function killedAt(cli: TestCli, point: string, args: string[]): Promise<{ out: string; err: string }> {
  const proc = spawnTny(args, { ...cli.env, TNY_FAULT_KILL: point });
  const exit = await proc.waitExit(60_000);
  if (exit.signal !== 'SIGKILL') {
    throw new Error(`tny ${args.join(' ')} was not killed at ${point} (exit ${exit.code}):\n${proc.stdout()}\n${proc.stderr()}`);
  }
  return { out: proc.stdout(), err: proc.stderr() };
}

/** An import file of `n` rows: every third row with an alias `<prefix>-a<i>`, the others generated. */
export function importFile(dir: string, name: string, prefix: string, n: number, extra: string[] = []): { path: string; urls: string[]; aliases: string[] } {
  const urls: string[] = [];
  const aliases: string[] = [];
  const lines = ['url,alias,tags'];
  for (let i = 0; i < n; i++) {
    const url = `https://example.com/${prefix}/${i}`;
    const alias = i % 3 === 0 ? `${prefix}-a${i}` : '';
    urls.push(url);
    if (alias) aliases.push(alias);
    lines.push(`${url},${alias},"t${i % 4},bulk"`);
  }
  lines.push(...extra);
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { path, urls, aliases };
}

/** Every link of an account, on every shard (straight from the databases, no cache). */
export async function linksOf(c: Container, accountId: number): Promise<{ key: string; url: string; tags: string[] }[]> {
  const dbs = c.database.shards ? c.database.shards.shards.map((s) => s.database.db) : [c.database.db];
  const out: { key: string; url: string; tags: string[] }[] = [];
  for (const db of dbs) {
    const rows = await db.selectFrom('short_urls').select(['id', 'short_key', 'original_url']).where('account_id', '=', accountId).execute();
    for (const r of rows) {
      const tags = await db.selectFrom('link_tags').select('tag').where('link_id', '=', Number(r.id)).orderBy('tag').execute();
      out.push({ key: r.short_key, url: r.original_url, tags: tags.map((t) => t.tag) });
    }
  }
  return out;
}

/** Each URL of the file exactly once, each alias under its URL, tags as in the file. */
export function expectImportedOnce(links: { key: string; url: string; tags: string[] }[], file: { urls: string[]; aliases: string[] }, prefix: string): void {
  expect(links.map((l) => l.url).sort()).toEqual([...file.urls].sort());
  const byKey = new Map(links.map((l) => [l.key, l]));
  for (const alias of file.aliases) expect(byKey.get(alias)?.url).toBe(`https://example.com/${prefix}/${alias.slice(prefix.length + 2)}`);
  for (const l of links) {
    const i = Number(l.url.split('/').pop());
    expect(l.tags).toEqual(['bulk', `t${i % 4}`]);
  }
}

/** Rows left in import_staging (everywhere): a finished or failed run leaves none. */
export async function stagedRows(c: Container): Promise<number> {
  const dbs = c.database.shards ? c.database.shards.shards.map((s) => s.database.db) : [c.database.db];
  let n = 0;
  for (const db of dbs) n += Number((await db.selectFrom('import_staging').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  return n;
}
