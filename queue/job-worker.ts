/** The workers' side of the jobs queue: the BullMQ consumer, which hands each job to a runner (worker/job-runner.ts). */
import { WaitingError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { JobPayload, JobResult } from '../contract/job-payload.js';
import { JobNotStartedError } from './job-not-started-error.js';
import { processTraced } from './job-trace.js';
import { BULL_PREFIX, QUEUE_JOBS } from './redis-keys.js';

/**
 * Runs one job to its result; the signal aborts when the job is cancelled. Throws
 * JobNotStartedError when the worker is stopping and the job never reached a sandbox.
 */
export interface JobProcessor {
  run(job: JobPayload, signal?: AbortSignal): Promise<JobResult>;
}

export interface JobWorkerOptions {
  connection: ConnectionOptions;
  /** This worker's id (host-pid): BullMQ records it as the job's processedBy, which the reconciler reads. */
  name: string;
  concurrency: number;
  runner: JobProcessor;
  /** Whether a cancel for this job arrived before it started (queue/job-cancel.ts). */
  cancelledBeforeStart?: (id: string) => boolean;
}

/**
 * What BullMQ keeps of a finished job: its verdict, not its result. The db holds the result, and
 * nothing reads a BullMQ return value; BullMQ would JSON-encode it on the worker's event loop and
 * store it twice in Redis (the job's hash and the `completed` event), output and all (up to MiBs).
 */
export interface JobOutcome {
  verdict: JobResult['verdict'];
}

export function startJobWorker(opts: JobWorkerOptions): Worker<JobPayload, JobOutcome> {
  const processor = (job: Job<JobPayload, JobOutcome>, token?: string, signal?: AbortSignal) =>
    processTraced(job.data, async (span): Promise<JobOutcome> => {
      try {
        const result = await opts.runner.run(job.data, opts.cancelledBeforeStart?.(job.data.id) ? AbortSignal.abort() : signal);
        span.setAttribute('warmbox.job.verdict', result.verdict);
        return { verdict: result.verdict };
      } catch (err) {
        if (!(err instanceof JobNotStartedError)) throw err;
        // Back to the queue, lock released, as if never taken; WaitingError tells BullMQ it moved.
        await job.moveToWait(token);
        throw new WaitingError(err.message);
      }
    });
  return new Worker<JobPayload, JobOutcome>(QUEUE_JOBS, processor, {
    connection: opts.connection,
    prefix: BULL_PREFIX,
    name: opts.name,
    concurrency: opts.concurrency,
    // A sandbox job is not idempotent: it runs once, whatever happens (its result says what).
    maxStalledCount: 0,
  });
}
