import SqliteDatabase from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { cachingDatabase } from './statement-cache.js';

describe('cachingDatabase', () => {
  let raw = new SqliteDatabase(':memory:');
  afterEach(() => {
    if (raw.open) raw.close();
    raw = new SqliteDatabase(':memory:');
  });

  it('prepares each SQL text once and reuses the statement', () => {
    const db = cachingDatabase(raw);
    const a = db.prepare('select 1 as x');
    expect(db.prepare('select 1 as x')).toBe(a);
    expect(db.prepare('select 2 as x')).not.toBe(a);
    expect(a.all([])).toEqual([{ x: 1 }]);
  });

  it('drops the least recently used statement beyond its size', () => {
    const db = cachingDatabase(raw, 2);
    const one = db.prepare('select 1');
    const two = db.prepare('select 2');
    expect(db.prepare('select 1')).toBe(one); // now "select 2" is the least recently used
    db.prepare('select 3');
    expect(db.prepare('select 1')).toBe(one);
    expect(db.prepare('select 2')).not.toBe(two);
  });

  it('hands out a fresh statement while the cached one is iterating', () => {
    raw.exec('create table t (v integer); insert into t values (1), (2)');
    const db = cachingDatabase(raw);
    const outer = db.prepare('select v from t order by v');
    const seen: unknown[] = [];
    for (const row of outer.iterate([])) {
      const inner = db.prepare('select v from t order by v');
      expect(inner).not.toBe(outer);
      seen.push(row, inner.all([]).length);
    }
    expect(seen).toEqual([{ v: 1 }, 2, { v: 2 }, 2]);
    expect(db.prepare('select v from t order by v')).toBe(outer);
  });

  it('closes the database', () => {
    cachingDatabase(raw).close();
    expect(raw.open).toBe(false);
  });
});
