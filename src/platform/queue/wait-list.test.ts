import { describe, expect, it } from 'vitest';
import { WaitList } from './wait-list.js';

describe('WaitList', () => {
  it('wakes every waiter of the notified queue and none of another', async () => {
    const list = new WaitList();
    const woken: string[] = [];
    const a1 = list.wait('a', 10_000).then(() => woken.push('a1'));
    const a2 = list.wait('a', 10_000).then(() => woken.push('a2'));
    void list.wait('b', 60).then(() => woken.push('b'));
    expect(list.waiting('a')).toBe(2);
    list.notify('a');
    await Promise.all([a1, a2]);
    expect(woken.sort()).toEqual(['a1', 'a2']);
    expect(list.waiting('a')).toBe(0);
    expect(list.waiting('b')).toBe(1);
    list.close();
  });

  it('returns at once when the queue changed after the version the waiter saw', async () => {
    const list = new WaitList();
    const seen = list.version('a');
    list.notify('a'); // lands between the waiter's attempt and its parking
    const t = performance.now();
    await list.wait('a', 5000, undefined, seen);
    expect(performance.now() - t).toBeLessThan(100);
    expect(list.waiting('a')).toBe(0);
  });

  it('times out, aborts, and releases everyone on close', async () => {
    const list = new WaitList();
    const t = performance.now();
    await list.wait('a', 40);
    expect(performance.now() - t).toBeGreaterThanOrEqual(35);
    const controller = new AbortController();
    const aborted = list.wait('a', 10_000, controller.signal);
    controller.abort();
    await aborted;
    const parked = list.wait('a', 10_000);
    list.close();
    await parked;
    await list.wait('a', 10_000); // closed: returns at once
    expect(list.waiting('a')).toBe(0);
  });
});
