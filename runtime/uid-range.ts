/**
 * The unprivileged identities sandboxes run as. With a range (count > 1) every live sandbox gets
 * a uid of its own, so no two jobs ever share one, even across namespaces; with count 1 all share it.
 */
export class UidRangeExhaustedError extends Error {
  override name = 'UidRangeExhaustedError';
}

export class UidRange {
  private readonly free: number[];

  constructor(
    readonly first: number,
    readonly count: number,
  ) {
    if (first <= 0 || count < 1) throw new RangeError(`uid range ${first}+${count}: uids must be above 0`);
    // Popped from the end: the lowest uid is handed out first.
    this.free = Array.from({ length: count }, (_, i) => first + count - 1 - i);
  }

  /** A uid for one sandbox; give it back with release() when the sandbox is gone. */
  take(): number {
    if (this.count === 1) return this.first;
    const uid = this.free.pop();
    if (uid === undefined) {
      throw new UidRangeExhaustedError(`all ${this.count} sandbox uids from ${this.first} are in use: raise WARMBOX_SANDBOX_UID_COUNT or lower the pool sizes`);
    }
    return uid;
  }

  release(uid: number): void {
    if (this.count > 1) this.free.push(uid);
  }

  get inUse(): number {
    return this.count === 1 ? 0 : this.count - this.free.length;
  }
}
