/**
 * A worker's webhook deliveries: the signing secret, the sender with its address policy and
 * timeouts, the BullMQ worker of the webhooks queue (its own concurrency, apart from jobs), and the
 * sweep that queues pending deliveries the queue may have missed. Returns the undo steps.
 */
import type { ConnectionOptions } from 'bullmq';
import type { Logger } from 'pino';
import type { WarmboxDb } from '../db/client.js';
import type { WebhookQueue } from '../queue/webhook-queue.js';
import { startWebhookWorker } from '../queue/webhook-worker.js';
import { WebhookDeliverer, type WebhookAttemptEnd } from '../worker/webhook-deliverer.js';
import { WebhookSender } from '../worker/webhook-sender.js';
import { WebhookSweep } from '../worker/webhook-sweep.js';
import type { WebhookConfig } from './webhook-config.js';
import { webhookSecret } from './webhook-secret.js';

export interface WebhookDeliveryParts {
  config: WebhookConfig;
  dataDir: string;
  connection: ConnectionOptions;
  db: WarmboxDb;
  webhooks: WebhookQueue;
  log: Logger;
  /** After each attempt: where metrics and traces hook in. */
  onAttemptEnd?: (end: WebhookAttemptEnd) => void;
}

export async function startWebhookDelivery(parts: WebhookDeliveryParts): Promise<Array<() => unknown>> {
  const { config, log } = parts;
  const sender = new WebhookSender({ policy: config.policy, connectTimeoutMs: config.connectTimeoutMs, timeoutMs: config.timeoutMs });
  const secret = webhookSecret(config.secret, parts.dataDir, log);
  const deliverer = new WebhookDeliverer({ db: parts.db, sender, secret, log, onAttemptEnd: parts.onAttemptEnd });
  const worker = startWebhookWorker({
    connection: parts.connection,
    concurrency: config.concurrency,
    backoff: config.backoff,
    attempt: (ctx) => deliverer.attempt(ctx),
  });
  worker.on('error', (err) => log.error({ err }, 'webhook worker error'));
  const sweep = await WebhookSweep.start({
    db: parts.db,
    webhooks: parts.webhooks,
    log,
    staleAfterMs: config.backoff.maxMs + config.timeoutMs + 60_000,
  });
  return [() => worker.close(), () => sweep.close()];
}
