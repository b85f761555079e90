/** Anything holding a resource (pool, timer, client) closes through this. */
export interface Closeable {
  close(): Promise<void> | void;
}

/**
 * Closes resources in reverse order of registration, each once, continuing past failures
 * (which are reported, not swallowed).
 */
export class Lifecycle {
  private readonly items: { name: string; item: Closeable }[] = [];
  private closing: Promise<Error[]> | undefined;

  add<T extends Closeable>(name: string, item: T): T {
    this.items.push({ name, item });
    return item;
  }

  close(): Promise<Error[]> {
    this.closing ??= (async () => {
      const errors: Error[] = [];
      for (const { name, item } of this.items.reverse()) {
        try {
          await item.close();
        } catch (err) {
          errors.push(new Error(`closing ${name} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
        }
      }
      return errors;
    })();
    return this.closing;
  }
}
