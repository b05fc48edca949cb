/** The workers' side of the jobs queue: the BullMQ consumer, which hands each job to a runner (worker/job-runner.ts). */
import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { JobPayload, JobResult } from '../contract/job-payload.js';
import { BULL_PREFIX, QUEUE_JOBS } from './redis-keys.js';

/** Runs one job to its result; the signal aborts when the job is cancelled. */
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
  const processor = (job: Job<JobPayload, JobResult>, _token?: string, signal?: AbortSignal) =>
    opts.runner.run(job.data, opts.cancelledBeforeStart?.(job.data.id) ? AbortSignal.abort() : signal);
  return new Worker<JobPayload, JobResult>(QUEUE_JOBS, processor, {
    connection: opts.connection,
    prefix: BULL_PREFIX,
    name: opts.name,
    concurrency: opts.concurrency,
    // A sandbox job is not idempotent: it runs once, whatever happens (its result says what).
    maxStalledCount: 0,
  });
}
