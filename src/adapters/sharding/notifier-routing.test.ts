import { describe, expect, it } from 'vitest';
import { mergeByKey } from './notifier-routing.js';

describe('mergeByKey', () => {
  const id = (x: string) => x;

  it('takes the first `limit` of the global order, ascending or descending', () => {
    const pages = [['a1', 'a4', 'a7'], ['a2', 'a3'], [], ['a5', 'a6', 'a8']];
    expect(mergeByKey(pages, id, 'asc', 5)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
    expect(mergeByKey(pages, id, 'asc', 100)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8']);
    const desc = pages.map((p) => [...p].reverse());
    expect(mergeByKey(desc, id, 'desc', 4)).toEqual(['a8', 'a7', 'a6', 'a5']);
    expect(mergeByKey([[], []], id, 'asc', 3)).toEqual([]);
  });

  it("keeps each shard's own order: rows of one notification stay as their database sorted them", () => {
    // An en_US collation puts `.webhook` before `.web_push` (punctuation ignored); bytes put it after.
    const shard = ['ntf_1.email', 'ntf_1.webhook', 'ntf_1.web_push', 'ntf_3.email'];
    const other = ['ntf_2.email', 'ntf_4.email'];
    expect(mergeByKey([shard, other], id, 'asc', 10)).toEqual(['ntf_1.email', 'ntf_1.webhook', 'ntf_1.web_push', 'ntf_2.email', 'ntf_3.email', 'ntf_4.email']);
  });

  it('compares byte-wise (upper case before lower case), as `collate "C"` does', () => {
    expect(mergeByKey([['B', 'a'], ['Z', '_x']], id, 'asc', 4)).toEqual(['B', 'Z', '_x', 'a']);
  });
});
