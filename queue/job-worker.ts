/** The workers' side of the jobs queue: the BullMQ consumer, which hands each job to a runner (worker/job-runner.ts). */
import { DelayedError, WaitingError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { JobPayload, JobResult } from '../contract/job-payload.js';
import { JobNotStartedError } from './job-not-started-error.js';
import { processTraced } from './job-trace.js';
import { BULL_PREFIX, QUEUE_JOBS } from './redis-keys.js';
import type { RunningSlots } from './running-slots.js';
import { LOCAL_TENANT_ID } from '../contract/tenant.js';

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
  /** Tenants' running caps: a job runs only while it holds one of its tenant's slots. Absent: no caps. */
  runningCap?: { slots: RunningSlots; capOf: (tenantId: string) => Promise<number | null> };
}

/**
 * What BullMQ keeps of a finished job: its verdict, not its result. The db holds the result, and
 * nothing reads a BullMQ return value; BullMQ would JSON-encode it on the worker's event loop and
 * store it twice in Redis (the job's hash and the `completed` event), output and all (up to MiBs).
 */
export interface JobOutcome {
  verdict: JobResult['verdict'];
}

/**
 * A job whose tenant is at its running cap goes back to the queue as delayed by about this long
 * (with jitter, so that a tenant's waiting jobs do not come back together), and is tried again:
 * other tenants' jobs behind it are taken meanwhile.
 */
export const RUNNING_CAP_RETRY_MS = { min: 200, max: 800 };

export function startJobWorker(opts: JobWorkerOptions): Worker<JobPayload, JobOutcome> {
  const processor = (job: Job<JobPayload, JobOutcome>, token?: string, signal?: AbortSignal) =>
    processTraced(job.data, async (span): Promise<JobOutcome> => {
      const cancelled = opts.cancelledBeforeStart?.(job.data.id) ?? false;
      const release = cancelled ? undefined : await takeRunningSlot(opts, job, token);
      try {
        const result = await opts.runner.run(job.data, cancelled ? AbortSignal.abort() : signal);
        span.setAttribute('warmbox.job.verdict', result.verdict);
        return { verdict: result.verdict };
      } catch (err) {
        if (!(err instanceof JobNotStartedError)) throw err;
        // Back to the queue, lock released, as if never taken; WaitingError tells BullMQ it moved.
        await job.moveToWait(token);
        throw new WaitingError(err.message);
      } finally {
        // A slot that cannot be given back now (Redis away) comes back when its lease ends.
        await release?.().catch(() => undefined);
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

/**
 * The job's slot under its tenant's running cap, and how to give it back; a tenant at its cap has
 * the job moved back to the queue as delayed (DelayedError tells BullMQ it moved). Nothing was run.
 */
async function takeRunningSlot(opts: JobWorkerOptions, job: Job<JobPayload, JobOutcome>, token?: string): Promise<(() => Promise<void>) | undefined> {
  const tenantId = job.data.tenantId ?? LOCAL_TENANT_ID;
  const cap = (await opts.runningCap?.capOf(tenantId)) ?? null;
  if (cap === null) return undefined;
  const { slots } = opts.runningCap!;
  if (await slots.take(tenantId, job.data.id, cap)) return () => slots.release(tenantId, job.data.id);
  const { min, max } = RUNNING_CAP_RETRY_MS;
  await job.moveToDelayed(Date.now() + min + Math.floor(Math.random() * (max - min)), token);
  throw new DelayedError(`tenant ${tenantId} is at its running cap (${cap}); job ${job.data.id} waits in the queue`);
}
