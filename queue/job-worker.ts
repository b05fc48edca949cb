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

export function startJobWorker(opts: JobWorkerOptions): Worker<JobPayload, JobResult> {
  const processor = (job: Job<JobPayload, JobResult>, token?: string, signal?: AbortSignal) =>
    processTraced(job.data, async (span) => {
      try {
        const result = await opts.runner.run(job.data, opts.cancelledBeforeStart?.(job.data.id) ? AbortSignal.abort() : signal);
        span.setAttribute('warmbox.job.verdict', result.verdict);
        return result;
      } catch (err) {
        if (!(err instanceof JobNotStartedError)) throw err;
        // Back to the queue, lock released, as if never taken; WaitingError tells BullMQ it moved.
        await job.moveToWait(token);
        throw new WaitingError(err.message);
      }
    });
  return new Worker<JobPayload, JobResult>(QUEUE_JOBS, processor, {
    connection: opts.connection,
    prefix: BULL_PREFIX,
    name: opts.name,
    concurrency: opts.concurrency,
    // A sandbox job is not idempotent: it runs once, whatever happens (its result says what).
    maxStalledCount: 0,
  });
}
