import { describe, expect, it } from 'vitest';
import { FakeClock } from '../clock.js';
import { RetryBudget } from './retry-budget.js';

describe('RetryBudget', () => {
  it('starts full, then allows one retry per 1/ratio calls', () => {
    const clock = new FakeClock();
    const budget = new RetryBudget({ clock, ratio: 0.1, minPerSecond: 0, maxTokens: 3 });
    expect([budget.tryRetry(), budget.tryRetry(), budget.tryRetry(), budget.tryRetry()]).toEqual([true, true, true, false]);
    for (let i = 0; i < 9; i++) budget.recordCall();
    expect(budget.tryRetry()).toBe(false); // 0.9 of a retry
    budget.recordCall();
    expect(budget.tryRetry()).toBe(true); // exactly 1.0, not 0.9999…
    expect(budget.tryRetry()).toBe(false);
  });

  it('refills the floor over time, up to maxTokens', () => {
    const clock = new FakeClock();
    const budget = new RetryBudget({ clock, ratio: 0, minPerSecond: 2, maxTokens: 5 });
    while (budget.tryRetry());
    clock.advance(499);
    expect(budget.tryRetry()).toBe(false);
    clock.advance(1);
    expect(budget.tryRetry()).toBe(true);
    clock.advance(60_000);
    expect(budget.available).toBe(5);
  });

  it('a clock stepping back adds nothing', () => {
    const clock = new FakeClock();
    const budget = new RetryBudget({ clock, ratio: 0, minPerSecond: 1, maxTokens: 2 });
    while (budget.tryRetry());
    clock.advance(-10_000);
    expect(budget.tryRetry()).toBe(false);
    clock.advance(10_999);
    expect(budget.tryRetry()).toBe(false);
    clock.advance(1);
    expect(budget.tryRetry()).toBe(true);
  });

  it('deposits never exceed maxTokens', () => {
    const clock = new FakeClock();
    const budget = new RetryBudget({ clock, ratio: 1, minPerSecond: 0, maxTokens: 4 });
    for (let i = 0; i < 100; i++) budget.recordCall();
    expect(budget.available).toBe(4);
  });

  it.each([
    [{ ratio: -0.1 }, /ratio/],
    [{ ratio: 1.5 }, /ratio/],
    [{ minPerSecond: -1 }, /minPerSecond/],
    [{ maxTokens: 0.5 }, /maxTokens/],
  ])('rejects %j', (options, message) => {
    expect(() => new RetryBudget({ clock: new FakeClock(), ...options })).toThrow(message);
  });
});
