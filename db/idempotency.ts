/**
 * Queries on `idempotency_keys`. A key is claimed in the transaction that records its jobs
 * (claimIdempotencyKey inside createJobs), so two concurrent submissions with one key cannot both
 * record: the primary key lets one insert through, the other's transaction rolls back.
 */
import { and, eq, isNull, lt } from 'drizzle-orm';
import { changesOf, first, type WarmboxDb } from './database.js';
import { DbConflict } from './db-conflict.js';
import type { IdempotencyKeyRow } from './schema.js';

export interface NewIdempotencyKey {
  key: string;
  requestHash: string;
  jobIds: string[];
  createdAt: number;
}

/** The key's record if it was made at or after `notBefore` (older ones have expired). */
export async function findIdempotencyKey(db: WarmboxDb, key: string, notBefore: number): Promise<IdempotencyKeyRow | undefined> {
  const { idempotencyKeys } = db.t;
  const row = await db.query(async (q) => first(await q.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key)).limit(1)));
  return row !== undefined && row.createdAt >= notBefore ? row : undefined;
}

/**
 * Inside a transaction: records the key, replacing an expired record of it; throws DbConflict
 * (rolling the transaction back) when a live record exists, i.e. another submission won.
 */
export async function claimIdempotencyKey(tx: WarmboxDb, entry: NewIdempotencyKey, notBefore: number): Promise<void> {
  const { idempotencyKeys } = tx.t;
  const changes = await tx.query(async (q) => {
    await q.delete(idempotencyKeys).where(and(eq(idempotencyKeys.key, entry.key), lt(idempotencyKeys.createdAt, notBefore)));
    return changesOf(await q.insert(idempotencyKeys).values(entry).onConflictDoNothing());
  });
  if (changes !== 1) throw new DbConflict(`idempotency key ${JSON.stringify(entry.key)} is taken`);
}

/** Its jobs are queued: replays may answer with them. */
export async function completeIdempotencyKey(db: WarmboxDb, key: string, at: number): Promise<void> {
  const { idempotencyKeys } = db.t;
  await db.query(async (q) => q.update(idempotencyKeys).set({ completedAt: at }).where(and(eq(idempotencyKeys.key, key), isNull(idempotencyKeys.completedAt))));
}

/** Inside a transaction: forgets a key whose jobs are being taken back (their enqueue failed). */
export async function forgetIdempotencyKey(tx: WarmboxDb, key: string): Promise<void> {
  const { idempotencyKeys } = tx.t;
  await tx.query(async (q) => q.delete(idempotencyKeys).where(eq(idempotencyKeys.key, key)));
}

/** Deletes the records made before `before`; returns how many. */
export function pruneIdempotencyKeys(db: WarmboxDb, before: number): Promise<number> {
  const { idempotencyKeys } = db.t;
  return db.query(async (q) => changesOf(await q.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, before))));
}
