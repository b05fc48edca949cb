/**
 * What follows a job's result once it is in the db, whoever recorded it (the worker that ran it,
 * a cancel of a queued job, a sweep that found it lost): waiting requests are woken, the live
 * output stream ends, and the job's webhook delivery is queued.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { FinishedNotice } from './finished-notifier.js';
import { endJobInRedis } from './job-end-script.js';
import type { WebhookQueue } from './webhook-queue.js';

export interface JobEndParts {
  redis: Redis;
  /** Absent: a recorded delivery waits for the sweep (worker/webhook-sweep.ts) to queue it. */
  webhooks?: WebhookQueue;
  log?: Logger;
}

/**
 * `deliveryId`: the pending delivery recorded with the result (db/jobs.ts recordResult), or null.
 * `notice`: the result as recorded, for the waiting requests of other API processes.
 * A failed enqueue is logged, not thrown: the delivery is in the db and the sweep queues it.
 */
export async function announceJobEnd(parts: JobEndParts, id: string, deliveryId: string | null, notice?: FinishedNotice): Promise<void> {
  const queued = deliveryId === null || parts.webhooks === undefined ? undefined : queueDelivery(parts, id, deliveryId);
  await Promise.all([endJobInRedis(parts.redis, id, notice), queued]);
}

async function queueDelivery(parts: JobEndParts, id: string, deliveryId: string): Promise<void> {
  try {
    await parts.webhooks!.add(deliveryId);
  } catch (err) {
    parts.log?.warn({ err, job: id, delivery: deliveryId }, 'queueing the webhook delivery failed; the sweep will queue it');
  }
}
