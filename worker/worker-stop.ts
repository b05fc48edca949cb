/**
 * The moments of a worker's stop, as signals its job runner watches (server/server.ts drives them):
 * - `draining`: the stop began. The worker takes no new job; a job it took but has not started in
 *   a sandbox goes back to the queue (it never ran, so it may run elsewhere or after a restart).
 * - `graceOver`: the grace period ended with jobs still running. Their sandboxes are killed and
 *   they end `lost`, with an `error` that says so: a started job is not run again.
 */
export class WorkerStop {
  private readonly drain = new AbortController();
  private readonly grace = new AbortController();

  private graceMs = 0;

  get draining(): AbortSignal {
    return this.drain.signal;
  }

  get graceOver(): AbortSignal {
    return this.grace.signal;
  }

  /** `graceMs`: how long running jobs get, as the `error` of those cut off will say. */
  beginDrain(graceMs: number): void {
    this.graceMs = graceMs;
    this.drain.abort();
  }

  endGrace(): void {
    this.drain.abort();
    this.grace.abort();
  }

  /** The `error` of a job its worker's stop cut off; `at once`: a second signal, no grace. */
  lostReason(atOnce = false): string {
    return atOnce
      ? 'the worker was stopped at once (a second SIGTERM or SIGINT during its stop); the sandbox was killed and the job is not run again'
      : `the worker stopped after its grace period of ${this.graceMs} ms with the job still running; the sandbox was killed and the job is not run again`;
  }
}
