import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from './open-database.js';

describe('openDatabase (SQLite)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('creates the data directory and a migrated WAL database with foreign keys on, and reopens it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tny-open-'));
    dirs.push(root);
    const dataDir = join(root, 'nested', 'data');
    const first = await openDatabase({ dataDir, poolSize: 1 });
    expect(first.dialect).toBe('sqlite');
    const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(first.db);
    expect(mode.rows[0]?.journal_mode).toBe('wal');
    const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(first.db);
    expect(fk.rows[0]?.foreign_keys).toBe(1);
    await first.db.insertInto('settings').values({ name: 'a', value: 'b' }).execute();
    await first.close();

    const again = await openDatabase({ dataDir, poolSize: 1 });
    const row = await again.db.selectFrom('settings').select('value').where('name', '=', 'a').executeTakeFirst();
    expect(row?.value).toBe('b');
    await again.close();
  });

  it('uses synchronous=NORMAL by default and FULL when asked', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tny-open-'));
    dirs.push(root);
    for (const [setting, expected] of [[undefined, 1], ['full', 2]] as const) {
      const opened = await openDatabase({ dataDir: join(root, String(setting)), poolSize: 1, sqliteSynchronous: setting });
      expect(opened.sqlite?.pragma('synchronous', { simple: true })).toBe(expected);
      await opened.close();
    }
  });
});
