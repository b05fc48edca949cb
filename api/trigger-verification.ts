/**
 * Whether a delivery comes from the trigger's sender: GitHub's `X-Hub-Signature-256` (an HMAC of
 * the raw body bytes, keyed with the secret) or `Authorization: Bearer <secret>`. Comparisons are
 * constant-time. The secret is kept as it is for HMAC (the HMAC needs the key) and only as a sha256
 * for bearer tokens (a stolen db does not hand them out).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TriggerVerification } from '../contract/trigger.js';
import { REQUEST_BOUNDS } from './request-bounds.js';

const BEARER_HASH_PREFIX = 'sha256:';
/** Optional, sent by some senders (unix seconds): a delivery outside the tolerance is refused as stale. */
export const TIMESTAMP_HEADER = 'x-webhook-timestamp';

export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** What the db keeps of a secret. */
export function storedSecret(verification: TriggerVerification, secret: string): string {
  return verification === 'bearer' ? BEARER_HASH_PREFIX + sha256Hex(secret) : secret;
}

export function signBody(secret: string, body: Uint8Array): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

/** True when the delivery's headers prove it knows the secret. */
export function deliveryVerified(verification: TriggerVerification, stored: string, headers: Headers, body: Uint8Array): boolean {
  if (verification === 'hmac-sha256') {
    const given = headers.get('x-hub-signature-256');
    return given !== null && constantTimeEqual(given.trim(), signBody(stored, body));
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.get('authorization') ?? '');
  return match !== null && constantTimeEqual(BEARER_HASH_PREFIX + sha256Hex(match[1]!), stored);
}

/** True when the sender gave a timestamp and it is too far from now (a delivery held back, or replayed late). */
export function deliveryStale(headers: Headers, nowMs = Date.now()): boolean {
  const given = headers.get(TIMESTAMP_HEADER);
  if (given === null) return false;
  const seconds = /^\d{1,12}$/.test(given.trim()) ? Number(given.trim()) : NaN;
  return !(Math.abs(nowMs / 1000 - seconds) <= REQUEST_BOUNDS.hookTimestampToleranceSeconds);
}

/** Compares digests of both sides, so neither the length nor the first differing byte shows in the time taken. */
function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
