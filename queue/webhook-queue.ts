/**
 * The webhooks queue's producer side: a delivery recorded in the db (db/webhook-deliveries.ts) is
 * handed to the workers here. The BullMQ job id is the delivery id, so adding it again (the sweep,
 * a retried announce) is a no-op while the queue holds it.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import { BULL_PREFIX, QUEUE_WEBHOOKS } from './redis-keys.js';
import { WEBHOOK_BACKOFF_TYPE } from './webhook-backoff.js';
import { activeTraceContext, type TraceCarrier } from './job-trace.js';

export const DELIVER_JOB_NAME = 'deliver';

/** The delivery's id, and the trace context of the job's finish (its attempts' spans join the job's trace). */
export interface WebhookJobData extends TraceCarrier {
  deliveryId: string;
}

/** How long an add may wait for Redis: a caller never hangs through an outage (the sweep queues it later). */
const ADD_TIMEOUT_MS = 2000;

export class WebhookQueue {
  private readonly queue: Queue<WebhookJobData>;

  /** `attempts`: how many times a delivery is tried in all before it is dead. */
  constructor(
    private readonly connection: ConnectionOptions,
    attempts: number,
  ) {
    this.queue = new Queue<WebhookJobData>(QUEUE_WEBHOOKS, {
      connection,
      prefix: BULL_PREFIX,
      defaultJobOptions: {
        attempts,
        backoff: { type: WEBHOOK_BACKOFF_TYPE },
        // The db keeps the record; Redis keeps a tail, long enough that a sweep's late add of a
        // delivery that just ended finds it there and does nothing.
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        // Dead deliveries (the dead-letter set): kept a week in Redis, for good in the db.
        removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
      },
    });
  }

  async add(deliveryId: string, timeoutMs = ADD_TIMEOUT_MS): Promise<void> {
    const status = (this.connection as { status?: unknown }).status;
    if (typeof status === 'string' && status !== 'ready') throw new Error(`Redis is not connected (${status})`);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not take the delivery within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.queue.add(DELIVER_JOB_NAME, { deliveryId, ...activeTraceContext() }, { jobId: deliveryId }), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
