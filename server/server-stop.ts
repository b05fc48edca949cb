/**
 * What a stop of `warmbox server` / `warmbox worker` does, in order (README "Stopping"):
 * 1. at once, refuse new work: the API answers submissions 503 `shutting_down`; the worker takes
 *    no job, and sends the jobs it took but has not started in a sandbox back to the queue;
 * 2. drain: running jobs finish, within the grace period; when it ends, the sandboxes of those
 *    still running are killed and their jobs end `lost`;
 * 3. close what start-up opened, in reverse: HTTP, consumers, parked sandboxes, the launcher, the
 *    db, Redis, the private redis-server, then telemetry.
 * abortNow(), for a second signal, does the part of this that cannot be skipped, at once: every
 * sandbox killed and its cgroups removed (synchronously), running jobs recorded `lost` (the db's
 * writes, awaited at most ABORT_RECORD_MS).
 */
import type { Logger } from 'pino';

/** An undo step of start-up, run in reverse order of registration. */
export type Closer = () => unknown;

/** How long a second signal's exit waits for the running jobs' `lost` records. */
const ABORT_RECORD_MS = 2_000;

/** A worker's part in a stop (server.ts registers it). */
export interface WorkerStopSteps {
  /** Take no new job; jobs not yet in a sandbox go back to the queue. */
  refuse(graceMs: number): void;
  /** Resolves when no job runs any more. */
  drained(): Promise<void>;
  /** The grace period is over: kill the running jobs' sandboxes (their jobs end `lost`). */
  graceOver(): void;
  /** Every sandbox killed at once, running jobs recorded `lost`; the process exits once it resolves. */
  abortNow(): Promise<void>;
}

export class ServerStop {
  /** Pushed as start-up goes; the stop runs them last first. */
  readonly closers: Closer[] = [];
  private readonly workers: WorkerStopSteps[] = [];
  private running: Promise<void> | undefined;

  constructor(private readonly log: Logger) {}

  /** True once a stop has begun (the API refuses new work from then on). */
  get started(): boolean {
    return this.running !== undefined;
  }

  addWorker(steps: WorkerStopSteps): void {
    this.workers.push(steps);
  }

  /** Runs the stop once; a second call returns the same stop. */
  run(graceMs: number): Promise<void> {
    return (this.running ??= this.stop(graceMs));
  }

  /** Resolves once the workers' records are written, or after ABORT_RECORD_MS (an unreachable db does not hold the exit). */
  async abortNow(): Promise<void> {
    const recorded = Promise.all(this.workers.map((w) => w.abortNow()));
    await Promise.race([recorded, new Promise((resolve) => setTimeout(resolve, ABORT_RECORD_MS).unref())]);
  }

  private async stop(graceMs: number): Promise<void> {
    const t0 = performance.now();
    this.log.info({ graceMs }, 'stopping: no new work taken; running jobs have the grace period to finish');
    for (const w of this.workers) w.refuse(graceMs);
    await Promise.all(this.workers.map((w) => this.drain(w, graceMs)));
    const failed = await this.closeAll();
    this.log.info({ ms: Math.round(performance.now() - t0) }, 'stopped');
    if (failed) throw failed;
  }

  private async drain(worker: WorkerStopSteps, graceMs: number): Promise<void> {
    const drained = worker.drained();
    if (await settlesWithin(drained, graceMs)) return;
    this.log.warn({ graceMs }, 'grace period over: killing the sandboxes of the jobs still running; they end lost');
    worker.graceOver();
    await drained;
  }

  /** Every closer runs, even after one fails (what it left is logged); the first failure is returned. */
  private async closeAll(): Promise<Error | undefined> {
    let first: Error | undefined;
    for (const close of [...this.closers].reverse()) {
      try {
        await close();
      } catch (err) {
        this.log.error({ err }, 'a step of the stop failed; going on with the others');
        first ??= err as Error;
      }
    }
    return first;
  }
}

/** True when the promise settles within ms (a rejection counts: the caller awaits it again). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
