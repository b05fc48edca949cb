/**
 * The API's side of the `jobs` queue: hands a validated JobPayload to the workers.
 * The db holds the record of every job, so BullMQ keeps only a bounded tail of finished ones.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import type { JobPayload } from '../contract/job-payload.js';
import { BULL_PREFIX, QUEUE_JOBS } from './redis-keys.js';

/** BullMQ job name of a sandbox run; the queue holds nothing else. */
export const RUN_JOB_NAME = 'run';

export class JobQueue {
  private readonly queue: Queue<JobPayload>;

  /** A Redis instance is shared (close() leaves it open); options make a connection of its own. */
  constructor(connection: ConnectionOptions) {
    this.queue = new Queue<JobPayload>(QUEUE_JOBS, {
      connection,
      prefix: BULL_PREFIX,
      defaultJobOptions: {
        // A sandbox run is not idempotent (it may have had effects, it used its time): never retried.
        attempts: 1,
        removeOnComplete: { age: 3600, count: 1000 },
        removeOnFail: { age: 24 * 3600, count: 1000 },
      },
    });
  }

  /** Enqueues the job under BullMQ job id = payload.id (adding the same id twice is a no-op). */
  async add(payload: JobPayload): Promise<void> {
    await this.queue.add(RUN_JOB_NAME, payload, { jobId: payload.id });
  }

  /** Takes a job that no worker has started out of the queue; false if it is running (or gone). */
  async removeWaiting(id: string): Promise<boolean> {
    return (await this.queue.remove(id)) === 1;
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
