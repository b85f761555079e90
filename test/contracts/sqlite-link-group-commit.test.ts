import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { groupCommitFor } from '../../src/adapters/sqlite/group-commit.js';
import { SqliteLinkRepository } from '../../src/adapters/sqlite/sqlite-link-repository.js';
import { sqliteFactory, type TestDatabase } from '../helpers/databases.js';
import { newLink } from '../helpers/new-link.js';

// The link contract suite runs SqliteLinkRepository like the other stores; this is what only
// the group commit can get wrong: one create failing inside a shared transaction.
describe('SqliteLinkRepository: creates of one turn share a commit, each in its own savepoint', () => {
  let d: TestDatabase;
  let links: SqliteLinkRepository;
  beforeEach(async () => {
    d = await sqliteFactory.open();
    links = new SqliteLinkRepository(d.db, d.raw!, groupCommitFor(d.db, d.raw!));
    // A real engine error for one row of the group: an aborting trigger, after its tags would go in.
    d.raw!.exec(`CREATE TRIGGER refuse_some AFTER INSERT ON link_tags WHEN NEW.tag = 'refuse'
      BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END`);
  });
  afterEach(() => d.close());

  it('rolls back only the failing create: the others of the group are stored with their tags', async () => {
    const inputs = Array.from({ length: 30 }, (_, i) =>
      newLink(`g${i}`, { tags: i % 10 === 3 ? ['a', 'refuse'] : ['a', `n${i}`] }),
    );
    const results = await Promise.allSettled(inputs.map((l) => links.insert(l)));
    const refused = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    expect(refused).toEqual([3, 13, 23]);
    for (const i of refused) {
      expect(String((results[i] as PromiseRejectedResult).reason)).toMatch(/refused by test trigger/);
      expect(await links.findByKey(`g${i}`)).toBeUndefined();
    }
    const rows = await d.db.selectFrom('short_urls').select('short_key').execute();
    expect(rows).toHaveLength(27);
    const tagRows = await d.db.selectFrom('link_tags').select(['link_id', 'tag']).execute();
    expect(tagRows).toHaveLength(54);
    expect(tagRows.some((t) => t.tag === 'refuse')).toBe(false);
    expect((await links.findByKey('g4'))?.tags).toEqual(['a', 'n4']);
  });

  it('settles every create after the shared commit, visible to another connection', async () => {
    const other = await d.connectAgain();
    const created = await Promise.all(Array.from({ length: 20 }, (_, i) => links.insert(newLink(`v${i}`))));
    const seen = await other.db.selectFrom('short_urls').select('short_key').execute();
    expect(seen.map((r) => r.short_key).sort()).toEqual(created.map((c) => (c === 'conflict' ? c : c.key)).sort());
  });
});
