import { describe, expect, it } from 'vitest';
import { bulkhead } from './bulkhead.js';
import { BulkheadRejectedError } from './errors.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((res) => (resolve = res));
  return { promise, resolve };
}

describe('bulkhead', () => {
  it('50 concurrent callers: never more than maxConcurrent run, all finish, in FIFO order', async () => {
    const policy = bulkhead({ maxConcurrent: 3, maxQueue: 100 });
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const calls = Array.from({ length: 50 }, (_, i) =>
      policy.execute(async () => {
        started.push(i);
        peak = Math.max(peak, ++running);
        await new Promise((r) => setImmediate(r)); // real interleaving
        running--;
        return i;
      }),
    );
    expect(policy.active).toBe(3);
    expect(policy.queued).toBe(47);
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(peak).toBe(3);
    expect(started).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect([policy.active, policy.queued]).toEqual([0, 0]);
  });

  it('rejects with BulkheadRejectedError when the slots and the queue are full, without running the call', async () => {
    const policy = bulkhead({ maxConcurrent: 2, maxQueue: 1 });
    const gate = deferred();
    const admitted = [0, 1, 2].map(() => policy.execute(() => gate.promise));
    let ran = false;
    const err = await policy
      .execute(async () => {
        ran = true;
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BulkheadRejectedError);
    expect(err).toMatchObject({ maxConcurrent: 2, maxQueue: 1 });
    expect(ran).toBe(false);
    gate.resolve();
    await Promise.all(admitted);
  });

  it('a failing call frees its slot', async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    await expect(policy.execute(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(policy.execute(() => Promise.resolve('next'))).resolves.toBe('next');
    expect(policy.active).toBe(0);
  });

  it('an aborted waiter leaves the queue; the slot goes to the next one', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 2 });
    const gate = deferred();
    const first = policy.execute(() => gate.promise);
    const controller = new AbortController();
    const ran: string[] = [];
    const leaving = policy.execute(async () => void ran.push('aborted one'), controller.signal);
    const staying = policy.execute(async () => void ran.push('next one'));
    controller.abort(new Error('left the queue'));
    await expect(leaving).rejects.toThrow('left the queue');
    expect(policy.queued).toBe(1);
    gate.resolve();
    await Promise.all([first, staying]);
    expect(ran).toEqual(['next one']);
    expect([policy.active, policy.queued]).toEqual([0, 0]);
  });

  it('a caller arriving right after a slot is released queues behind the waiter that got it', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 5 });
    const order: string[] = [];
    const gate = deferred();
    const first = policy.execute(async () => {
      await gate.promise;
      order.push('first');
    });
    const queued = policy.execute(async () => void order.push('queued'));
    // The first caller's continuation runs right after its slot is released, before the
    // queued call has started: a caller arriving now must still wait its turn.
    const late = first.then(() => {
      expect([policy.active, policy.queued]).toEqual([1, 0]);
      return policy.execute(async () => void order.push('late'));
    });
    gate.resolve();
    await Promise.all([first, queued, late]);
    expect(order).toEqual(['first', 'queued', 'late']);
  });

  it.each([[{ maxConcurrent: 0 }], [{ maxConcurrent: 1.5 }], [{ maxConcurrent: 1, maxQueue: -1 }]])('rejects %j', (options) => {
    expect(() => bulkhead(options)).toThrow(RangeError);
  });
});
