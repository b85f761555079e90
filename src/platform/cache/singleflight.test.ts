import { describe, expect, it } from 'vitest';
import { Singleflight } from './singleflight.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('Singleflight', () => {
  it('1,000 concurrent callers share one load', async () => {
    const sf = new Singleflight<string, number>();
    const gate = deferred<number>();
    let loads = 0;
    const load = () => {
      loads++;
      return gate.promise;
    };
    const calls = Array.from({ length: 1000 }, () => sf.do('k', load));
    expect(sf.inFlight).toBe(1);
    gate.resolve(42);
    const results = await Promise.all(calls);
    expect(loads).toBe(1);
    expect(results.every((r) => r === 42)).toBe(true);
    expect(sf.inFlight).toBe(0);
  });

  it('delivers a rejection to every waiter, then loads again', async () => {
    const sf = new Singleflight<string, number>();
    const gate = deferred<number>();
    let loads = 0;
    const calls = Array.from({ length: 100 }, () =>
      sf.do('k', () => {
        loads++;
        return gate.promise;
      }),
    );
    const boom = new Error('db down');
    gate.reject(boom);
    const settled = await Promise.allSettled(calls);
    expect(settled.every((s) => s.status === 'rejected' && s.reason === boom)).toBe(true);
    expect(loads).toBe(1);
    expect(sf.inFlight).toBe(0);
    await expect(sf.do('k', async () => 7)).resolves.toBe(7);
  });

  it('loads again after a success (nothing is cached)', async () => {
    const sf = new Singleflight<string, number>();
    let loads = 0;
    const load = async () => ++loads;
    expect(await sf.do('k', load)).toBe(1);
    expect(await sf.do('k', load)).toBe(2);
  });

  it('a caller continuing from the result starts a fresh load', async () => {
    const sf = new Singleflight<string, number>();
    let loads = 0;
    const load = async () => ++loads;
    const second = await sf.do('k', load).then(() => sf.do('k', load));
    expect(second).toBe(2);
  });

  it('keys are independent', async () => {
    const sf = new Singleflight<string, string>();
    const a = deferred<string>();
    const pa = sf.do('a', () => a.promise);
    const pb = sf.do('b', async () => 'B');
    expect(sf.inFlight).toBe(2);
    expect(await pb).toBe('B');
    expect(sf.inFlight).toBe(1);
    a.resolve('A');
    expect(await pa).toBe('A');
    expect(sf.inFlight).toBe(0);
  });

  it('turns a synchronous throw into a rejection and forgets the key', async () => {
    const sf = new Singleflight<string, number>();
    const boom = new Error('sync');
    await expect(
      sf.do('k', () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(sf.inFlight).toBe(0);
  });
});
