import { describe, expect, it } from 'vitest';
import { FakeClock } from '../clock.js';
import { FakeTimers, sleep, systemTimers } from './timers.js';

describe('sleep', () => {
  it('waits on the injected timers', async () => {
    const clock = new FakeClock();
    const timers = new FakeTimers(clock);
    let done = false;
    const p = sleep(300, timers).then(() => (done = true));
    await timers.advance(299);
    expect(done).toBe(false);
    await timers.advance(1);
    await p;
    expect(done).toBe(true);
  });

  it('rejects with the abort reason and clears its timer', async () => {
    const clock = new FakeClock();
    const timers = new FakeTimers(clock);
    const controller = new AbortController();
    const p = sleep(300, timers, controller.signal);
    controller.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    expect(timers.size).toBe(0);
  });

  it('really sleeps on the system timers', async () => {
    const started = performance.now();
    await sleep(20, systemTimers);
    expect(performance.now() - started).toBeGreaterThanOrEqual(19);
  });
});

describe('FakeTimers', () => {
  it('fires due timers in time order, moving the clock to each', async () => {
    const clock = new FakeClock(0);
    const timers = new FakeTimers(clock);
    const fired: [string, number][] = [];
    timers.setTimeout(() => fired.push(['b', clock.now()]), 200);
    timers.setTimeout(() => fired.push(['a', clock.now()]), 100);
    const cleared = timers.setTimeout(() => fired.push(['x', clock.now()]), 150);
    timers.clearTimeout(cleared);
    timers.setTimeout(() => fired.push(['c', clock.now()]), 200);
    await timers.advance(250);
    expect(fired).toEqual([
      ['a', 100],
      ['b', 200],
      ['c', 200],
    ]);
    expect(clock.now()).toBe(250);
  });

  it('fires timers scheduled by timers within the same advance', async () => {
    const clock = new FakeClock(0);
    const timers = new FakeTimers(clock);
    const at: number[] = [];
    const tick = () => {
      at.push(clock.now());
      if (at.length < 4) timers.setTimeout(tick, 100);
    };
    timers.setTimeout(tick, 100);
    await timers.advance(1000);
    expect(at).toEqual([100, 200, 300, 400]);
  });
});
