/**
 * Holds a `?wait=true` request until its job finishes or the wait times out, on the process's
 * shared FinishedNotifier subscription (no polling, nothing per request but a timer).
 *
 * Order matters: start() registers with the notifier BEFORE the job is enqueued, so the worker's
 * publish cannot come first; every wake-up (and the timeout) is followed by a db read, which is
 * what decides. A wake-up that finds the job unfinished (the subscriber reconnected) registers
 * again, then reads again.
 */
import type { WarmboxDb } from '../db/client.js';
import { getJob } from '../db/jobs.js';
import type { JobRow } from '../db/schema.js';
import type { FinishedNotifier } from '../queue/finished-notifier.js';

export class JobWaiter {
  private readonly done = new AbortController();
  private readonly deadline: number;
  private woken: Promise<boolean>;

  private constructor(
    private readonly db: WarmboxDb,
    private readonly notifier: FinishedNotifier,
    private readonly id: string,
    timeoutMs: number,
    private readonly clientGone: AbortSignal | undefined,
  ) {
    this.deadline = Date.now() + timeoutMs;
    if (clientGone?.aborted) this.done.abort();
    clientGone?.addEventListener('abort', this.cancel, { once: true });
    this.woken = notifier.wait(id, timeoutMs, this.done.signal);
  }

  /** Registers the wait now; call before enqueueing. `clientGone` ends it early (the request's signal). */
  static start(db: WarmboxDb, notifier: FinishedNotifier, id: string, timeoutMs: number, clientGone?: AbortSignal): JobWaiter {
    return new JobWaiter(db, notifier, id, timeoutMs, clientGone);
  }

  /** The job once finished, or as it is when the wait ends unfinished. */
  async result(): Promise<JobRow | undefined> {
    try {
      for (;;) {
        const row = getJob(this.db, this.id);
        if (row === undefined || row.status === 'finished' || this.done.signal.aborted) return row;
        const published = await this.woken;
        const remaining = this.deadline - Date.now();
        if (!published || remaining <= 0) return getJob(this.db, this.id);
        this.woken = this.notifier.wait(this.id, remaining, this.done.signal);
      }
    } finally {
      this.cancel();
    }
  }

  /** Ends the wait (e.g. the enqueue failed); pending timers are cleared. */
  readonly cancel = (): void => {
    this.clientGone?.removeEventListener('abort', this.cancel);
    this.done.abort();
  };
}
