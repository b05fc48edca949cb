/**
 * Queues the webhook deliveries the db holds as pending but the queue may not: a process that died
 * between recording a result (with its delivery, in one transaction) and queueing the delivery, an
 * enqueue refused by a Redis outage, a Redis that lost its data. Runs at start and then every
 * SWEEP_INTERVAL_MS. Queueing is idempotent (the BullMQ job id is the delivery id) and the
 * deliverer skips a delivery that already ended, so sweeping one that was queued after all is harmless.
 */
import type { Logger } from 'pino';
import type { WarmboxDb } from '../db/client.js';
import { pendingDeliveriesToSweep } from '../db/webhook-deliveries.js';
import type { WebhookQueue } from '../queue/webhook-queue.js';

const SWEEP_INTERVAL_MS = 30_000;
/** A delivery never attempted this long after it was recorded was probably never queued. */
const UNATTEMPTED_GRACE_MS = 10_000;
const BATCH = 500;

export interface WebhookSweepOptions {
  db: WarmboxDb;
  webhooks: WebhookQueue;
  log: Logger;
  /** Longer than any wait between two attempts of one delivery (the backoff's cap plus an attempt's timeout). */
  staleAfterMs: number;
}

export class WebhookSweep {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  private constructor(private readonly opts: WebhookSweepOptions) {}

  /** Sweeps once (every never-attempted pending delivery), then every SWEEP_INTERVAL_MS. */
  static async start(opts: WebhookSweepOptions): Promise<WebhookSweep> {
    const sweep = new WebhookSweep(opts);
    await sweep.sweep(0);
    sweep.timer = setInterval(() => void sweep.sweep(UNATTEMPTED_GRACE_MS), SWEEP_INTERVAL_MS).unref();
    return sweep;
  }

  /** Queues what is due; returns how many deliveries were handed to the queue. */
  sweep(graceMs = UNATTEMPTED_GRACE_MS): Promise<number> {
    this.running ??= this.sweepOnce(graceMs).finally(() => (this.running = undefined));
    return this.running;
  }

  private async sweepOnce(graceMs: number): Promise<number> {
    const now = Date.now();
    const due = await pendingDeliveriesToSweep(this.opts.db, { unattemptedBefore: now - graceMs + 1, staleBefore: now - this.opts.staleAfterMs, limit: BATCH });
    let queued = 0;
    for (const d of due) {
      try {
        await this.opts.webhooks.add(d.id);
        queued++;
      } catch (err) {
        this.opts.log.warn({ err, delivery: d.id }, 'webhook sweep: queueing failed; next sweep retries');
        break;
      }
    }
    if (queued > 0) this.opts.log.info({ queued }, 'webhook sweep queued pending deliveries');
    return queued;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
