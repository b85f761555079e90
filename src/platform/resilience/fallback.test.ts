import { describe, expect, it } from 'vitest';
import { BrokenCircuitError, PermanentError } from './errors.js';
import { fallback } from './fallback.js';

describe('fallback', () => {
  it('returns the function’s value when it succeeds, without calling the fallback', async () => {
    let used = 0;
    const policy = fallback(() => {
      used++;
      return 'cached';
    });
    await expect(policy.execute(async () => 'fresh')).resolves.toBe('fresh');
    expect(used).toBe(0);
  });

  it('answers a failure with the fallback’s value and reports it', async () => {
    const policy = fallback((err) => `cached (${(err as Error).name})`);
    const seen: unknown[] = [];
    policy.on((e) => seen.push(e.error));
    const err = new BrokenCircuitError('open', 1000);
    await expect(policy.execute(() => Promise.reject(err))).resolves.toBe('cached (BrokenCircuitError)');
    expect(seen).toEqual([err]);
  });

  it('only answers the errors it handles', async () => {
    const policy = fallback(async () => 'default', { handles: (e) => e instanceof BrokenCircuitError });
    const permanent = new PermanentError('bad input');
    await expect(policy.execute(() => Promise.reject(permanent))).rejects.toBe(permanent);
  });

  it('does not answer for a caller that aborted', async () => {
    const policy = fallback(() => 'default');
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    const err = new Error('failed after abort');
    await expect(policy.execute(() => Promise.reject(err), controller.signal)).rejects.toBe(err);
  });

  it('an error thrown by the fallback reaches the caller', async () => {
    const policy = fallback(() => {
      throw new Error('no cache either');
    });
    await expect(policy.execute(() => Promise.reject(new Error('down')))).rejects.toThrow('no cache either');
  });
});
