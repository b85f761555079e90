/**
 * In-process request coalescing: concurrent callers for the same key share one in-flight
 * load (cache stampede protection within one process, chapter §4). Once the load settles,
 * resolved or rejected, the key is forgotten and the next call loads again; nothing is
 * cached here. A rejection reaches every caller that shared the load.
 *
 * Across processes this is not enough (defect 3 in DESIGN.md): pair it with a distributed
 * lease.
 */
export class Singleflight<K, V> {
  private readonly calls = new Map<K, Promise<V>>();

  do(key: K, load: () => Promise<V>): Promise<V> {
    const existing = this.calls.get(key);
    if (existing !== undefined) return existing;

    let started: Promise<V>;
    try {
      started = Promise.resolve(load());
    } catch (err) {
      started = Promise.reject(err);
    }
    // The key is forgotten before any caller's continuation runs, so a caller that calls
    // do() again from its then-callback starts a fresh load.
    const shared: Promise<V> = started.finally(() => {
      if (this.calls.get(key) === shared) this.calls.delete(key);
    });
    this.calls.set(key, shared);
    return shared;
  }

  /** Keys with a load in flight. */
  get inFlight(): number {
    return this.calls.size;
  }
}
