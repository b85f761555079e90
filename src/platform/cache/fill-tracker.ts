/** A fill in progress: which key, and the key's generation when it started. */
export interface Fill {
  readonly key: string;
  readonly generation: number;
}

/**
 * Tells a cache fill whether the key was invalidated while its load was in flight, so a value
 * read before an edit is not cached after it (the classic cache-aside race). Only keys with a
 * fill in progress are tracked: memory is bounded by concurrent fills, not by keys ever seen.
 */
export class FillTracker {
  private readonly active = new Map<string, { generation: number; fills: number }>();

  begin(key: string): Fill {
    let state = this.active.get(key);
    if (state === undefined) {
      state = { generation: 0, fills: 0 };
      this.active.set(key, state);
    }
    state.fills++;
    return { key, generation: state.generation };
  }

  /** Marks every fill of `key` now in progress as overtaken. */
  invalidate(key: string): void {
    const state = this.active.get(key);
    if (state !== undefined) state.generation++;
  }

  /** Marks every fill in progress as overtaken. */
  invalidateAll(): void {
    for (const state of this.active.values()) state.generation++;
  }

  /** Ends the fill; true when it may store its value (no invalidation since it began). */
  end(fill: Fill): boolean {
    const state = this.active.get(fill.key);
    if (state === undefined) return false;
    if (--state.fills === 0) this.active.delete(fill.key);
    return state.generation === fill.generation;
  }

  /** Keys with a fill in progress. */
  get size(): number {
    return this.active.size;
  }
}
