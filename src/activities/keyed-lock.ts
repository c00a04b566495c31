/**
 * Runs tasks one at a time per key, in call order; different keys run in parallel.
 *
 * Why: Temporal can start a retry of an activity while the timed-out attempt is still running in the
 * same worker. Both attempts carry the same idempotency key, and "check, deliver, record" must not
 * interleave between them.
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    // Forget the key once nobody queued behind us, so the map does not grow with every key ever seen.
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}
