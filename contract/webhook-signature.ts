/**
 * How a webhook delivery is signed, as Stripe and Svix do it: HMAC-SHA256 with the server's secret
 * over `${timestamp}.${body}`, sent as `Warmbox-Signature: t=<unix seconds>,v1=<hex>`. The
 * timestamp is signed too, so a receiver that refuses old timestamps refuses replays. README
 * "Webhooks" has the receiver's side in JavaScript and Python.
 */
import { createHmac } from 'node:crypto';

export const WEBHOOK_HEADERS = {
  signature: 'Warmbox-Signature',
  /** The delivery's id: the same on every attempt, so a receiver can ignore a repeat. */
  delivery: 'Warmbox-Delivery',
  event: 'Warmbox-Event',
  /** 1 for the first attempt, 2 for the first retry, ... */
  attempt: 'Warmbox-Attempt',
} as const;

/** A job reached its result (any verdict, `cancelled` and `lost` included). */
export const JOB_FINISHED_EVENT = 'job.finished';

/** A judge run reached its verdict: the body holds the run as GET /v1/judge/{id} shows it. */
export const JUDGE_RUN_FINISHED_EVENT = 'judge_run.finished';

/** A Judge0 drop-in submission finished: its `callback_url` gets Judge0's body, by PUT, as Judge0 sends it. */
export const JUDGE0_CALLBACK_EVENT = 'judge0.callback';

export function webhookSignature(secret: string, timestampS: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampS}.${body}`).digest('hex');
}

/** The Warmbox-Signature header's value. */
export function signatureHeader(secret: string, timestampS: number, body: string): string {
  return `t=${timestampS},v1=${webhookSignature(secret, timestampS, body)}`;
}
