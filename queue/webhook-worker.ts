/**
 * The webhooks queue's consumer side: a BullMQ worker of its own, with its own concurrency, so
 * that slow or dead receivers hold only webhook slots and never a job's. Retries follow
 * queue/webhook-backoff.ts; after the last attempt BullMQ keeps the delivery in its failed set
 * (the dead letters), and the db marks it `dead`.
 */
import { UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { BULL_PREFIX, QUEUE_WEBHOOKS } from './redis-keys.js';
import { WEBHOOK_BACKOFF_TYPE, webhookBackoffMs, type BackoffSettings } from './webhook-backoff.js';
import type { WebhookJobData } from './webhook-queue.js';
import { inTraceContext } from './job-trace.js';

/** What one attempt came to, as the deliverer tells the queue. */
/** done: delivered (or nothing left to do); retry: failed, try again after the backoff; dead: failed for good. */
export type AttemptOutcome = 'done' | 'retry' | 'dead';

export interface WebhookAttemptContext {
  deliveryId: string;
  /** 1 for the first attempt the queue makes of this delivery. */
  attempt: number;
  /** Attempts in all: a failure at this number makes the delivery dead. */
  maxAttempts: number;
}

export interface WebhookWorkerOptions {
  connection: ConnectionOptions;
  concurrency: number;
  backoff: BackoffSettings;
  /** Makes one attempt and records it; throws only when warmbox itself failed (then retried like a failure). */
  attempt: (ctx: WebhookAttemptContext) => Promise<{ outcome: AttemptOutcome; error?: string }>;
}

export function startWebhookWorker(opts: WebhookWorkerOptions): Worker<WebhookJobData> {
  const processor = async (job: Job<WebhookJobData>): Promise<void> => {
    const ctx = { deliveryId: job.data.deliveryId, attempt: job.attemptsMade + 1, maxAttempts: job.opts.attempts ?? 1 };
    // In the job's trace context: the attempt's span joins the trace of the job it reports.
    const { outcome, error } = await inTraceContext(job.data, () => opts.attempt(ctx));
    if (outcome === 'retry') throw new Error(error ?? 'delivery failed');
    // No retry, whatever BullMQ counts (a refused target, the last attempt): it keeps the job with the failed ones.
    if (outcome === 'dead') throw new UnrecoverableError(error ?? 'delivery failed');
  };
  return new Worker<WebhookJobData>(QUEUE_WEBHOOKS, processor, {
    connection: opts.connection,
    prefix: BULL_PREFIX,
    concurrency: opts.concurrency,
    // A delivery whose worker died mid-attempt is tried again (receivers dedupe on Warmbox-Delivery);
    // BullMQ's default (1) would fail it without the db hearing of it.
    maxStalledCount: 10,
    settings: {
      backoffStrategy: (attemptsMade, type) => (type === WEBHOOK_BACKOFF_TYPE ? webhookBackoffMs(attemptsMade, opts.backoff) : 0),
    },
  });
}
