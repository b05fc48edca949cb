/**
 * Keeps garbage collection away from content that is being added. Adding (a pull, an import, a
 * build: blobs first, the ref last) holds the lock shared for its whole sequence, since what it has
 * stored is unreferenced until the ref is written; a collection holds it exclusively.
 *
 * Shared holders never wait for a queued collection, only for a running one: a pull may take it again
 * inside another (reentrancy without bookkeeping), at the price that a steady stream of pulls delays
 * a collection until a quiet moment, which is when one should run anyway.
 *
 * In-process only: another process adding to the same store (a CLI import next to the server) is not
 * seen; collectGarbage's minAgeMs covers that case.
 */
export class GcLock {
  #sharedHolders = 0;
  #collecting = false;
  /** Shared holders waiting for a collection to end. */
  #sharedWaiters: Array<() => void> = [];
  /** Collections waiting for the shared holders (and another collection) to finish. */
  #exclusiveWaiters: Array<() => void> = [];

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#collecting) await new Promise<void>((resolve) => this.#sharedWaiters.push(resolve));
    this.#sharedHolders++;
    try {
      return await fn();
    } finally {
      this.#sharedHolders--;
      this.#wake();
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#collecting || this.#sharedHolders > 0) {
      await new Promise<void>((resolve) => this.#exclusiveWaiters.push(resolve));
    }
    this.#collecting = true;
    try {
      return await fn();
    } finally {
      this.#collecting = false;
      this.#wake();
    }
  }

  #wake(): void {
    if (this.#collecting) return;
    const shared = this.#sharedWaiters.splice(0);
    for (const resolve of shared) resolve();
    if (this.#sharedHolders === 0 && shared.length === 0) this.#exclusiveWaiters.shift()?.();
  }
}
