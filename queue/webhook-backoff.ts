/**
 * When a failed webhook delivery is tried again: exponential backoff with "equal jitter" (half the
 * delay fixed, half random). Randomness spreads the retries of many deliveries that failed
 * together (a receiver that was down) so they do not all come back at the same instant; the fixed
 * half keeps each retry later than the one before it while the delay is below its cap.
 */

/** The BullMQ backoff type the webhooks queue's worker implements (queue/webhook-worker.ts). */
export const WEBHOOK_BACKOFF_TYPE = 'warmbox-webhook';

/** Each delay is this many times the one before it (before jitter). */
export const BACKOFF_FACTOR = 3;

export interface BackoffSettings {
  /** The delay after the first failure, before jitter, in milliseconds. */
  baseMs: number;
  /** No delay beyond this, in milliseconds. */
  maxMs: number;
}

/** The delay after `failures` failed attempts (1 after the first), in milliseconds. */
export function webhookBackoffMs(failures: number, settings: BackoffSettings, random: () => number = Math.random): number {
  const exponential = Math.min(settings.maxMs, settings.baseMs * BACKOFF_FACTOR ** Math.max(0, failures - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}
