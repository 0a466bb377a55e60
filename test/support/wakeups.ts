/**
 * Waiting on something that other code announces (a log line read, a hook request recorded): the producer
 * calls notify() after each change and every pending wait re-checks its condition then, instead of polling.
 */
export class Wakeups {
  private readonly pending = new Set<() => void>();

  notify(): void {
    for (const check of [...this.pending]) check();
  }

  /**
   * Resolves with the first value `probe` returns other than undefined, checked now and at every notify().
   * A probe that throws ends the wait with that error; so does the timeout, with `describe()` in its message.
   */
  until<T>(probe: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    return new Promise((resolve, reject) => {
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.pending.delete(check);
        settle();
      };
      const check = () => {
        let value: T | undefined;
        try {
          value = probe();
        } catch (err) {
          finish(() => reject(err as Error));
          return;
        }
        if (value !== undefined) finish(() => resolve(value as T));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${timeoutMs} ms ${describe()}`))), timeoutMs);
      this.pending.add(check);
      check();
    });
  }
}
