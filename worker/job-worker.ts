/** The BullMQ consumer of the jobs queue: hands each job to the JobRunner. */
import { Worker, type ConnectionOptions } from 'bullmq';
import type { JobPayload, JobResult } from './job-payload.js';
import type { JobRunner } from './job-runner.js';
import { BULL_PREFIX, QUEUE_JOBS } from './redis-keys.js';

export function startJobWorker(opts: { connection: ConnectionOptions; concurrency: number; runner: JobRunner }): Worker<JobPayload, JobResult> {
  return new Worker<JobPayload, JobResult>(QUEUE_JOBS, (job, _token, signal) => opts.runner.run(job.data, signal), {
    connection: opts.connection,
    prefix: BULL_PREFIX,
    concurrency: opts.concurrency,
    // A sandbox job is not idempotent: it runs once, whatever happens (its result says what).
    maxStalledCount: 0,
  });
}
