/**
 * The API's side of the `jobs` queue: hands a validated JobPayload to the workers.
 * The db holds the record of every job, so BullMQ keeps only a bounded tail of finished ones.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobPayload } from '../contract/job-payload.js';
import { sendTraced } from './job-trace.js';
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

export interface QueueDepth {
  queued: number;
  running: number;
  /** How long the oldest job in the wait list has waited for a worker; 0 when none waits. */
  oldestAgeMs: number;
  /**
   * Jobs ever added to the queue, by every API process (BullMQ's job counter, which each add
   * increments, an add of an id already there too): between two reads, added − Δqueued is how
   * many jobs left the wait list (taken by a worker, or taken out: a cancel).
   */
  added: number;
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
  add(payload: JobPayload, timeoutMs = ENQUEUE_TIMEOUT_MS): Promise<void> {
    return sendTraced([payload], (traced) => this.addAll(traced, timeoutMs));
  }

  /**
   * Enqueues several jobs in one Redis round trip (BullMQ's addBulk: one MULTI, so Redis takes all
   * of them or none), with add's fail-fast and timeout; a late bulk add is taken out again, whole.
   */
  async addBulk(payloads: JobPayload[], timeoutMs = ENQUEUE_TIMEOUT_MS): Promise<void> {
    if (payloads.length > 0) await sendTraced(payloads, (traced) => this.addAll(traced, timeoutMs));
  }

  private async addAll(payloads: JobPayload[], timeoutMs: number): Promise<void> {
    const status = (this.connection as { status?: unknown }).status;
    if (typeof status === 'string' && status !== 'ready') throw new QueueUnavailableError(`Redis is not connected (${status})`);
    const added: Promise<unknown> =
      payloads.length === 1
        ? this.queue.add(RUN_JOB_NAME, payloads[0]!, { jobId: payloads[0]!.id })
        : this.queue.addBulk(payloads.map((p) => ({ name: RUN_JOB_NAME, data: p, opts: { jobId: p.id } })));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      // setImmediate: a timer that fires late because this process was busy (a big result being
      // recorded) must not refuse a job Redis has taken; its reply may be waiting in the socket,
      // and the event loop reads sockets after timers and before immediates.
      timer = setTimeout(() => setImmediate(() => reject(new QueueUnavailableError(`Redis did not take the job within ${timeoutMs} ms`))), timeoutMs);
    });
    try {
      await Promise.race([added, timedOut]);
    } catch (err) {
      added.then(() => Promise.all(payloads.map((p) => this.queue.remove(p.id))), () => undefined).catch(() => undefined);
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

  /**
   * counts(), how long the oldest waiting job has waited and how many jobs were ever added, in two
   * round trips at most (one MULTI, so the counts agree with each other, and one read of that
   * job's timestamp): cheap enough for every metrics scrape.
   * Jobs wait in BullMQ's `wait` list newest first, so the oldest is its last element.
   */
  async depth(now = Date.now()): Promise<QueueDepth> {
    // BullMQ's Redis backend: its client is an ioredis connection (BullMQ types it more narrowly).
    const client = (await this.queue.getBackend().client) as unknown as Redis;
    const k = this.queue.keys;
    const replies = await client.multi().llen(k.wait!).zcard(k.prioritized!).zcard(k.delayed!).llen(k.active!).lindex(k.wait!, -1).get(k.id!).exec();
    const [wait, prioritized, delayed, active, oldest, added] = (replies ?? []).map(([err, value]) => {
      if (err) throw err;
      return value;
    }) as [number, number, number, number, string | null, string | null];
    const timestamp = oldest === null ? null : await client.hget(this.queue.toKey(oldest), 'timestamp');
    const oldestAgeMs = timestamp === null ? 0 : Math.max(0, now - Number(timestamp));
    return { queued: wait + prioritized + delayed, running: active, oldestAgeMs, added: Number(added ?? 0) };
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
