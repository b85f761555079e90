/**
 * A minimal event list for policy events (state changes, retries, rejections) that feed
 * metrics and logs. Listeners run synchronously in order. A listener that throws is skipped:
 * a metrics hook must never change the outcome of the call it observes.
 */
export class Listeners<E> {
  private list: ((event: E) => void)[] = [];

  /** Adds a listener; the returned function removes it. */
  on(listener: (event: E) => void): () => void {
    this.list = [...this.list, listener];
    return () => {
      this.list = this.list.filter((l) => l !== listener);
    };
  }

  /** Whether anyone listens (so callers can skip building an event nobody reads). */
  get active(): boolean {
    return this.list.length > 0;
  }

  emit(event: E): void {
    for (const listener of this.list) {
      try {
        listener(event);
      } catch {
        // Deliberately ignored, see the class comment.
      }
    }
  }
}
