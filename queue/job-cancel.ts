/**
 * The cancel channel. A running job is stopped by the worker that runs it, told over
 * CHANNEL_CANCEL (its sandbox is killed, the verdict is `cancelled`); a job still in the queue
 * never gets here (the API takes it out: api/job-cancel.ts). A cancel that reaches a worker in the
 * instant between its taking the job and starting it is remembered, and the job stops before it runs.
 */
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CHANNEL_CANCEL } from './redis-keys.js';
import { closeRedis } from './redis-close.js';

/** How long a cancel that found no running job is remembered by a worker. */
const PENDING_CANCEL_MS = 60_000;

/** The API's side: asks whichever worker runs `id` to stop it. */
export async function requestCancel(redis: Redis, id: string): Promise<void> {
  await redis.publish(CHANNEL_CANCEL, id);
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
    await closeRedis(this.subscriber);
  }

  private remember(id: string): void {
    const now = Date.now();
    for (const [key, at] of this.pending) if (now - at > PENDING_CANCEL_MS) this.pending.delete(key);
    this.pending.set(id, now);
  }
}
