/**
 * One holder at a time, in arrival order. SQLite's connection is one: a statement that ran while
 * another caller's transaction was open would become part of it (committed or rolled back with
 * it), so every statement and every transaction passes this gate.
 */
export class Gate {
  private held = false;
  private readonly waiters: (() => void)[] = [];

  async through<T>(body: () => Promise<T>): Promise<T> {
    if (this.held) await new Promise<void>((resolve) => this.waiters.push(resolve));
    else this.held = true;
    try {
      return await body();
    } finally {
      // Handed straight to the next waiter (still held), so no newcomer can slip in between.
      const next = this.waiters.shift();
      if (next === undefined) this.held = false;
      else next();
    }
  }
}
