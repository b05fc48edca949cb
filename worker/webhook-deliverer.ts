/**
 * One attempt of a webhook delivery, from the queue's worker (queue/webhook-worker.ts): read the
 * delivery and its job (or the body recorded with it: a judge run's, made by the API when the run
 * finished), sign the body, POST it (PUT for a Judge0 callback; worker/webhook-sender.ts), and record the attempt
 * and the delivery's new state together in the db. `onAttemptEnd` is the place for metrics and
 * traces: it is called after every attempt, with what the attempt came to.
 */
import type { Logger } from 'pino';
import { JUDGE0_CALLBACK_EVENT, WEBHOOK_HEADERS, signatureHeader } from '../contract/webhook-signature.js';
import type { WarmboxDb } from '../db/client.js';
import { getJob } from '../db/jobs.js';
import type { DeliveryRow, DeliveryState } from '../db/schema.js';
import { getDelivery, recordAttempt, subjectIdOf } from '../db/webhook-deliveries.js';
import type { AttemptOutcome, WebhookAttemptContext } from '../queue/webhook-worker.js';
import { webhookBody } from './webhook-body.js';
import type { SendResult, WebhookSender } from './webhook-sender.js';

/** An attempt as it ended: what the delivery record now says. */
export interface WebhookAttemptEnd {
  deliveryId: string;
  /** The job the delivery reports, or the judge run. */
  jobId: string;
  event: string;
  attempt: number;
  /** The delivery's state after this attempt: `pending` means another attempt follows. */
  state: DeliveryState;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

export interface WebhookDelivererDeps {
  db: WarmboxDb;
  sender: WebhookSender;
  /** The HMAC key of Warmbox-Signature (server/webhook-secret.ts). */
  secret: string;
  log: Logger;
  /** Called after each attempt (metrics, traces); must not throw. */
  onAttemptEnd?: (end: WebhookAttemptEnd) => void;
}

const USER_AGENT = 'warmbox-webhooks/1';

export class WebhookDeliverer {
  constructor(private readonly deps: WebhookDelivererDeps) {}

  async attempt(ctx: WebhookAttemptContext): Promise<{ outcome: AttemptOutcome; error?: string }> {
    const { db } = this.deps;
    const delivery = getDelivery(db, ctx.deliveryId);
    // Gone (its job was pruned) or already ended (a sweep queued it again): nothing to do.
    if (delivery === undefined || delivery.state !== 'pending') return { outcome: 'done' };
    const body = this.bodyOf(delivery);
    if (body === undefined) return { outcome: 'done' };
    // The db's count wins over the queue's: a delivery queued again by the sweep (Redis lost it)
    // goes on numbering, and stops at the same total.
    const attempt = Math.max(ctx.attempt, delivery.attempts + 1);
    const at = Date.now();
    const headers = {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      [WEBHOOK_HEADERS.signature]: signatureHeader(this.deps.secret, Math.floor(at / 1000), body),
      [WEBHOOK_HEADERS.delivery]: delivery.id,
      [WEBHOOK_HEADERS.event]: delivery.event,
      [WEBHOOK_HEADERS.attempt]: String(attempt),
    };
    const sent = await this.deps.sender.send(delivery.event === JUDGE0_CALLBACK_EVENT ? 'PUT' : 'POST', delivery.url, body, headers);
    const state = stateAfter(sent, attempt >= ctx.maxAttempts);
    recordAttempt(db, delivery, { attempt, at, statusCode: sent.statusCode, latencyMs: sent.latencyMs, error: sent.error }, state, Date.now());
    this.report({ deliveryId: delivery.id, jobId: subjectIdOf(delivery), event: delivery.event, attempt, state, ...sent });
    if (state === 'delivered') return { outcome: 'done' };
    return { outcome: state === 'dead' ? 'dead' : 'retry', error: sent.error ?? undefined };
  }

  /** The body recorded with the delivery, else the job's as it stands; undefined: its job is gone. */
  private bodyOf(delivery: DeliveryRow): string | undefined {
    if (delivery.body !== null) return delivery.body;
    const job = delivery.jobId === null ? undefined : getJob(this.deps.db, delivery.jobId);
    return job && webhookBody(delivery, job);
  }

  private report(end: WebhookAttemptEnd & { refused?: boolean }): void {
    const { refused: _refused, ...fields } = end;
    const level = end.state === 'dead' ? 'warn' : end.state === 'pending' ? 'info' : 'debug';
    this.deps.log[level](fields, end.state === 'dead' ? 'webhook delivery dead: no attempt left' : 'webhook delivery attempt');
    try {
      this.deps.onAttemptEnd?.(fields);
    } catch (err) {
      this.deps.log.warn({ err }, 'onAttemptEnd threw');
    }
  }
}

function stateAfter(sent: SendResult, last: boolean): DeliveryState {
  if (sent.error === null) return 'delivered';
  return sent.refused || last ? 'dead' : 'pending';
}
