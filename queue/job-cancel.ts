/**
 * Cancelling a job. A job still in the queue is taken out and recorded as `cancelled` at once; a
 * running one is stopped by the worker that runs it, told over CHANNEL_CANCEL (its sandbox is
 * killed, the verdict is `cancelled`). A cancel that reaches a worker in the instant between its
 * taking the job and starting it is remembered, and the job stops before it runs.
 */
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { WarmboxDb } from '../db/client.js';
import { finishJob } from '../db/jobs.js';
import { publishFinished } from './finished-notifier.js';
import type { JobResult } from '../contract/job-payload.js';
import type { JobQueue } from './job-queue.js';
import { endOutput } from './output-stream.js';
import { CHANNEL_CANCEL } from './redis-keys.js';

/** How long a cancel that found no running job is remembered by a worker. */
const PENDING_CANCEL_MS = 60_000;

/** The API's side: true when the job was still queued and is now recorded as cancelled. */
export async function cancelJob(deps: { db: WarmboxDb; queue: JobQueue; redis: Redis }, id: string): Promise<boolean> {
  if (await deps.queue.removeWaiting(id)) {
    finishJob(deps.db, id, cancelledBeforeStart(), Date.now());
    await Promise.all([publishFinished(deps.redis, id), endOutput(deps.redis, id)]);
    return true;
  }
  await deps.redis.publish(CHANNEL_CANCEL, id);
  return false;
}

/** The result of a job cancelled before it reached a sandbox: nothing ran. */
export function cancelledBeforeStart(): JobResult {
  return resultWithoutRun('cancelled');
}

/** A result for a job that never ran a command (cancelled first, or failed inside warmbox). */
export function resultWithoutRun(verdict: 'cancelled' | 'internal_error'): JobResult {
  return {
    verdict,
    exitCode: null,
    signal: null,
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    usage: { cpuTimeMs: 0, wallTimeMs: 0, memoryPeakBytes: 0 },
    start: 'cold',
    timings: { queuedMs: 0, pullMs: 0, acquireMs: 0, runMs: 0, totalMs: 0 },
  };
}

/** The worker's side: one subscription that stops the jobs this worker runs. */
export class CancelListener {
  private readonly pending = new Map<string, number>();

  private constructor(private readonly subscriber: Redis) {}

  static async start(redis: Redis, worker: Worker, log?: Logger): Promise<CancelListener> {
    const listener = new CancelListener(redis.duplicate());
    listener.subscriber.on('message', (_channel: string, id: string) => {
      if (!worker.cancelJob(id, 'cancelled through the API')) listener.remember(id);
    });
    listener.subscriber.on('error', (err: Error) => log?.warn({ err }, 'cancel listener: Redis connection error'));
    await listener.subscriber.subscribe(CHANNEL_CANCEL);
    return listener;
  }

  /** Whether a cancel for `id` arrived before its processor started (consumed by the asking). */
  takePending(id: string): boolean {
    const at = this.pending.get(id);
    this.pending.delete(id);
    return at !== undefined && Date.now() - at < PENDING_CANCEL_MS;
  }

  async close(): Promise<void> {
    await this.subscriber.quit();
  }

  private remember(id: string): void {
    const now = Date.now();
    for (const [key, at] of this.pending) if (now - at > PENDING_CANCEL_MS) this.pending.delete(key);
    this.pending.set(id, now);
  }
}
