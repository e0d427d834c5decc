/**
 * Runs work one at a time per key (a container id), in the order it was asked for: a removal that
 * arrives while the creation is still wiring waits for it. Different keys run concurrently.
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key) ?? Promise.resolve();
    const result = before.then(work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** True while work for `key` is queued or running. */
  has(key: string): boolean {
    return this.#tails.has(key);
  }

  /** True while work for a key starting with `prefix` is queued or running. */
  hasPrefix(prefix: string): boolean {
    for (const key of this.#tails.keys()) if (key.startsWith(prefix)) return true;
    return false;
  }
}
