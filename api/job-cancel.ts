/**
 * The API's side of cancelling a job (queue/job-cancel.ts has the wire). A job still in the queue
 * is taken out and recorded as `cancelled` at once; a running one is left to the worker that runs
 * it, told over the cancel channel.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { cancelledBeforeStart } from '../contract/result-without-run.js';
import type { WarmboxDb } from '../db/client.js';
import { recordResult } from '../db/jobs.js';
import { requestCancel } from '../queue/job-cancel.js';
import { announceJobEnd } from '../queue/job-end.js';
import type { JobQueue } from '../queue/job-queue.js';
import type { WebhookQueue } from '../queue/webhook-queue.js';

/**
 * True when the job was still queued and is now recorded as cancelled: the same two steps as
 * worker/job-finish.ts (result and webhook delivery recorded together, then announced and queued).
 */
export async function cancelJob(deps: { db: WarmboxDb; queue: JobQueue; redis: Redis; webhooks?: WebhookQueue; logger?: Logger }, id: string): Promise<boolean> {
  if (await deps.queue.removeWaiting(id)) {
    const recorded = await recordResult(deps.db, id, cancelledBeforeStart(), Date.now());
    await announceJobEnd({ redis: deps.redis, webhooks: deps.webhooks, log: deps.logger }, id, recorded?.deliveryId ?? null);
    return true;
  }
  await requestCancel(deps.redis, id);
  return false;
}
