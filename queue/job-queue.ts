/**
 * The API's side of the `jobs` queue: hands a validated JobPayload to the workers.
 * The db holds the record of every job, so BullMQ keeps only a bounded tail of finished ones.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import type { JobPayload } from '../contract/job-payload.js';
import { BULL_PREFIX, QUEUE_JOBS } from './redis-keys.js';

/** BullMQ job name of a sandbox run; the queue holds nothing else. */
export const RUN_JOB_NAME = 'run';

/**
 * How long an enqueue may wait for Redis. ioredis queues commands while it is disconnected
 * (FACTS.md), so an unbounded add would hold the request through a whole outage.
 */
export const ENQUEUE_TIMEOUT_MS = 2000;

/** Options of every run job (also a re-queued one, queue/job-queue-audit.ts). */
export const RUN_JOB_OPTIONS = {
  // A sandbox run is not idempotent (it may have had effects, it used its time): never retried.
  attempts: 1,
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 24 * 3600, count: 1000 },
} as const;

/** The job was not queued (Redis unreachable or too slow); the caller must not acknowledge it. */
export class QueueUnavailableError extends Error {
  override name = 'QueueUnavailableError';
}

export class JobQueue {
  private readonly queue: Queue<JobPayload>;

  /** A Redis instance is shared (close() leaves it open); options make a connection of its own. */
  constructor(private readonly connection: ConnectionOptions) {
    this.queue = new Queue<JobPayload>(QUEUE_JOBS, {
      connection,
      prefix: BULL_PREFIX,
      defaultJobOptions: RUN_JOB_OPTIONS,
    });
  }

  /**
   * Enqueues the job under BullMQ job id = payload.id (adding the same id twice is a no-op).
   * Fails fast with QueueUnavailableError when the shared connection is down, and after
   * ENQUEUE_TIMEOUT_MS when Redis does not answer; a late add that lands after all is taken out
   * again, so a job the caller refused never runs.
   */
  async add(payload: JobPayload, timeoutMs = ENQUEUE_TIMEOUT_MS): Promise<void> {
    const status = (this.connection as { status?: unknown }).status;
    if (typeof status === 'string' && status !== 'ready') throw new QueueUnavailableError(`Redis is not connected (${status})`);
    const added = this.queue.add(RUN_JOB_NAME, payload, { jobId: payload.id });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new QueueUnavailableError(`Redis did not take the job within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([added, timedOut]);
    } catch (err) {
      added.then(() => this.queue.remove(payload.id), () => undefined).catch(() => undefined);
      throw err instanceof QueueUnavailableError ? err : new QueueUnavailableError(`enqueue failed: ${(err as Error).message}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Takes a job that no worker has started out of the queue; false if it is running (or gone). */
  async removeWaiting(id: string): Promise<boolean> {
    return (await this.queue.remove(id)) === 1;
  }

  /**
   * How many jobs wait for a worker (queued) and how many workers are running (running), over every
   * worker of the queue: both 0 means the service has nothing left to do.
   */
  async counts(): Promise<{ queued: number; running: number }> {
    const c = await this.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
    return { queued: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0), running: c.active ?? 0 };
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
