/**
 * Holds a `?wait=true` request until its job finishes or the wait times out, on the process's
 * shared FinishedNotifier subscription (no polling, nothing per request but a timer).
 *
 * Order matters: start() registers with the notifier BEFORE the job is enqueued, so the worker's
 * publish cannot come first. A wake-up that carries the finished job's notice is the answer: the
 * row the request recorded plus what finishing added, with no read-back from the db. Any other
 * wake-up (a bare id: a cancel, a sweep, a big result; or the subscriber reconnected) and the
 * timeout are followed by a db read, which decides; one that finds the job unfinished registers
 * again, then reads again.
 */
import type { WarmboxDb } from '../db/client.js';
import { getJob } from '../db/jobs.js';
import type { JobRow } from '../db/schema.js';
import type { FinishedNotice, FinishedNotifier, Wakeup } from '../queue/finished-notifier.js';

export class JobWaiter {
  private readonly done = new AbortController();
  private readonly deadline: number;
  private woken: Promise<Wakeup>;

  private constructor(
    private readonly db: WarmboxDb,
    private readonly notifier: FinishedNotifier,
    private readonly row: JobRow,
    timeoutMs: number,
    private readonly clientGone: AbortSignal | undefined,
  ) {
    this.deadline = Date.now() + timeoutMs;
    if (clientGone?.aborted) this.done.abort();
    clientGone?.addEventListener('abort', this.cancel, { once: true });
    this.woken = notifier.waitForNotice(row.id, timeoutMs, this.done.signal);
  }

  /**
   * Registers the wait now; call before enqueueing. `row`: the job as just recorded or read (the
   * wait starts from it, without reading it again). `clientGone` ends it early (the request's signal).
   */
  static start(db: WarmboxDb, notifier: FinishedNotifier, row: JobRow, timeoutMs: number, clientGone?: AbortSignal): JobWaiter {
    return new JobWaiter(db, notifier, row, timeoutMs, clientGone);
  }

  /** The job once finished, or as it is when the wait ends unfinished. */
  async result(): Promise<JobRow | undefined> {
    try {
      let row: JobRow | undefined = this.row;
      for (;;) {
        if (row === undefined || row.status === 'finished' || this.done.signal.aborted) return row;
        const { published, notice } = await this.woken;
        if (notice !== undefined) return finishedRow(this.row, notice);
        const remaining = this.deadline - Date.now();
        if (!published || remaining <= 0) return getJob(this.db, this.row.id);
        this.woken = this.notifier.waitForNotice(this.row.id, remaining, this.done.signal);
        row = await getJob(this.db, this.row.id);
      }
    } finally {
      this.cancel();
    }
  }

  /** Ends the wait (e.g. the enqueue failed); pending timers are cleared. */
  readonly cancel = (): void => {
    this.clientGone?.removeEventListener('abort', this.cancel);
    this.done.abort(WAIT_ENDED);
  };
}

/**
 * The reason every wait ends with. AbortController.abort() without one builds a DOMException,
 * stack trace and all, each time: 0.7% of the server's CPU under load, for every `?wait` request.
 */
const WAIT_ENDED = Object.freeze(new Error('the wait ended'));

/** The row as the db holds it once the worker recorded the notice's result (db/jobs.ts recordResult). */
function finishedRow(row: JobRow, n: FinishedNotice): JobRow {
  const { result } = n;
  return {
    ...row,
    status: 'finished',
    digest: n.digest,
    startedAt: n.startedAt,
    finishedAt: n.finishedAt,
    result,
    verdict: result.verdict,
    exitCode: result.exitCode,
    stdout: Buffer.from(result.stdout, result.stdoutEncoding ?? 'utf8'),
    stderr: Buffer.from(result.stderr, result.stderrEncoding ?? 'utf8'),
  };
}
