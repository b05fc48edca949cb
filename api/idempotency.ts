/**
 * `Idempotency-Key` on job submissions, as Stripe has it: a retry with the same key within a day
 * answers with the jobs the first request recorded (header `Idempotent-Replayed: true`) and
 * records nothing; the same key with another body is refused (422). The key is claimed in the
 * transaction that records the jobs (db/idempotency.ts), so concurrent retries record once.
 */
import { createHash } from 'node:crypto';
import { z } from '@hono/zod-openapi';
import type { WarmboxDb } from '../db/client.js';
import { findIdempotencyKey, pruneIdempotencyKeys } from '../db/idempotency.js';
import { ApiError, RETRY_LATER } from './errors.js';

/** How long a key is remembered; a later retry with it records new jobs. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 3600 * 1000;
export const IDEMPOTENCY_KEY_MAX_CHARS = 255;
/** The answer to a retry says it is one. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';
/**
 * A first request that recorded its jobs but has not acknowledged them yet (it is enqueueing)
 * makes a concurrent retry wait this long for it, then answer 409. A record still unfinished after
 * STALE_PENDING_MS belongs to a server that died between recording and acknowledging: its jobs
 * are recorded (and queued by the reconciliation), so a retry answers with them.
 */
const PENDING_WAIT_MS = 5_000;
const PENDING_POLL_MS = 20;
const STALE_PENDING_MS = 60_000;
/** Expired keys are deleted at most this often, by the submissions themselves. */
const PRUNE_EVERY_MS = 60_000;

export const idempotencyHeaderSchema = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(IDEMPOTENCY_KEY_MAX_CHARS)
    .regex(/^[\x21-\x7e]+$/, 'must be visible ASCII characters, no spaces')
    .optional()
    .openapi({
      param: { name: 'idempotency-key', in: 'header' },
      description:
        `A unique key (e.g. a UUID) that makes retries safe: the same key within 24 hours answers with the job(s) the first request ` +
        `recorded, header \`${REPLAYED_HEADER}: true\`, and runs nothing again; with another body → 422 idempotency_key_reused. ` +
        `At most ${IDEMPOTENCY_KEY_MAX_CHARS} visible ASCII characters.`,
      example: '8e03978e-40d5-43e8-bc93-6894a57f9324',
    }),
});

/** Identifies a submission: its route and its body, as parsed (so whitespace does not count). */
export function requestHash(route: string, body: unknown): string {
  return createHash('sha256').update(route).update('\0').update(JSON.stringify(body)).digest('hex');
}

export function keyNotBefore(now = Date.now()): number {
  return now - IDEMPOTENCY_KEY_TTL_MS;
}

/**
 * The job ids a live key recorded, once its first request acknowledged them; undefined when the
 * key is free. 422 for another body; 409 while the first request is still at work.
 */
export async function replayedJobIds(db: WarmboxDb, key: string, hash: string, signal?: AbortSignal, shownKey = key): Promise<string[] | undefined> {
  const deadline = Date.now() + PENDING_WAIT_MS;
  for (;;) {
    const row = await findIdempotencyKey(db, key, keyNotBefore());
    if (row === undefined) return undefined;
    if (row.requestHash !== hash) {
      throw new ApiError(422, 'idempotency_key_reused', `Idempotency-Key ${JSON.stringify(shownKey)} was used with another request body within the last 24 hours`, {
        field: 'idempotency-key',
        in: 'header',
      });
    }
    if (row.completedAt !== null || Date.now() - row.createdAt > STALE_PENDING_MS) return row.jobIds;
    if (Date.now() >= deadline || signal?.aborted) {
      throw new ApiError(409, 'idempotency_key_in_use', `a request with Idempotency-Key ${JSON.stringify(shownKey)} is still being processed; retry later`, {}, RETRY_LATER);
    }
    await new Promise((r) => setTimeout(r, PENDING_POLL_MS));
  }
}

const lastPrune = new WeakMap<WarmboxDb, number>();

/** Deletes the keys older than a day, at most once a minute per database. */
export async function pruneExpiredKeys(db: WarmboxDb, now = Date.now()): Promise<void> {
  if (now - (lastPrune.get(db) ?? 0) < PRUNE_EVERY_MS) return;
  lastPrune.set(db, now);
  await pruneIdempotencyKeys(db, keyNotBefore(now));
}
