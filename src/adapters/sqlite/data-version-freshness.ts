import type SqliteDatabase from 'better-sqlite3';
import type { CacheFreshness } from '../../notifier/cached-stores.js';

/**
 * Freshness on SQLite: `PRAGMA data_version` changes when ANOTHER connection (another process on
 * the same file: a `tny serve` next to this one, a delivery worker marking a contact invalid)
 * has committed. Commits of this connection do not change it, and they all go through the cached
 * stores (which clear themselves) or through the ledger and queue, which do not touch
 * configuration tables. Exact, and ~1 µs a check; nothing to announce.
 */
export function dataVersionFreshness(raw: SqliteDatabase.Database): CacheFreshness {
  const dataVersion = raw.prepare('PRAGMA data_version').pluck() as SqliteDatabase.Statement<[], number>;
  let version = dataVersion.get();
  return {
    changedElsewhere() {
      const now = dataVersion.get();
      if (now === version) return false;
      version = now;
      return true;
    },
    announce() {},
  };
}
