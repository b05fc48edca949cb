/**
 * The reconciler's view of the `jobs` queue (worker/job-reconciler.ts): which jobs BullMQ holds,
 * what state one job is in and whether a live worker holds its lock, and the two repairs, taking
 * a dead copy out and adding a job again under its own id.
 *
 * BullMQ's own stalled handling (6.x): a job whose lock expired is moved back to `wait` with a
 * "deferred failure", and the next worker that takes it fails it without running it (we run with
 * maxStalledCount 0). Until a worker runs that check, the job stays `active` without a lock.
 * Both are copies no worker will ever run: `dead` below.
 */
import { Queue, type JobState } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobPayload } from '../contract/job-payload.js';
import { RUN_JOB_NAME, RUN_JOB_OPTIONS } from './job-queue.js';
import { BULL_PREFIX, QUEUE_JOBS } from './redis-keys.js';

/** States in which a job will still be taken (or is being run) by a worker. */
const HELD_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'waiting-children'] as const;

export interface QueuedJobView {
  /** BullMQ's state; `missing` when Redis has no such job (lost, or removed after it ended). */
  state: JobState | 'missing';
  /** A copy no worker will run: active with its lock expired, or stalled (a deferred failure), or failed. */
  dead: boolean;
  /** The worker that took it last (BullMQ's processedBy: our workers are named by their id, host-pid). */
  worker?: string;
  /** Why BullMQ failed it or will (a stalled job: "job stalled more than allowable limit"). */
  reason?: string;
}

export class JobQueueAudit {
  private readonly queue: Queue<JobPayload>;

  /** `redis` is shared: close() leaves it open. */
  constructor(private readonly redis: Redis) {
    this.queue = new Queue<JobPayload>(QUEUE_JOBS, { connection: redis, prefix: BULL_PREFIX, defaultJobOptions: RUN_JOB_OPTIONS });
  }

  /**
   * Ids of every job a worker may still take or is running: a snapshot to find suspects quickly;
   * not atomic (a job may move between lists while they are read), so check a suspect with view().
   */
  async held(): Promise<Set<string>> {
    return new Set(await this.queue.getRanges([...HELD_STATES]));
  }

  /**
   * Which of these jobs BullMQ has marked stalled (a deferred failure: the next worker to take it
   * fails it without running it). One pipelined HEXISTS per id.
   */
  async stalled(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hexists(this.queue.toKey(id), 'defa');
    const replies = (await pipeline.exec()) ?? [];
    return new Set(ids.filter((_, i) => replies[i]?.[1] === 1));
  }

  /** Ids of the jobs BullMQ has as active (taken by a worker, alive or not). */
  async active(): Promise<string[]> {
    return this.queue.getRanges(['active']);
  }

  /**
   * One job as BullMQ has it. The state is read before the lock: a job goes active together with
   * its lock, so "active and no lock" means the lock expired (or the job ended meanwhile, which
   * the caller's guarded db write then finds).
   */
  async view(id: string): Promise<QueuedJobView> {
    const state = await this.queue.getJobState(id);
    if (state === 'unknown') return { state: 'missing', dead: true };
    const [job, locked] = await Promise.all([this.queue.getJob(id), this.locked(id)]);
    if (job === undefined) return { state: 'missing', dead: true };
    const deferred = job.deferredFailure || undefined;
    const dead = state === 'failed' || (state === 'active' && !locked) || (deferred !== undefined && state !== 'completed');
    return { state, dead, worker: job.processedBy || undefined, reason: deferred ?? (job.failedReason || undefined) };
  }

  /** Takes out a copy that no worker holds a lock on; false when a worker holds it (or it is gone). */
  async removeUnlocked(id: string): Promise<boolean> {
    return (await this.queue.remove(id)) === 1;
  }

  /**
   * Adds the job again under its own id, once any copy is out (BullMQ ignores an add whose id it
   * still has). False when a copy is still held by a live worker's lock.
   */
  async requeue(payload: JobPayload): Promise<boolean> {
    if ((await this.queue.getJobState(payload.id)) !== 'unknown' && !(await this.removeUnlocked(payload.id))) return false;
    await this.queue.add(RUN_JOB_NAME, payload, { jobId: payload.id });
    return true;
  }

  async close(): Promise<void> {
    await this.queue.close();
  }

  /** BullMQ's lock key of a job: `<prefix>:<queue>:<id>:lock`, set while a live worker runs it. */
  private async locked(id: string): Promise<boolean> {
    return (await this.redis.exists(this.queue.toKey(`${id}:lock`))) === 1;
  }
}
