/**
 * Queries on `idempotency_keys`. A key is claimed in the transaction that records its jobs
 * (claimIdempotencyKey inside createJobs), so two concurrent submissions with one key cannot both
 * record: the primary key lets one insert through, the other's transaction rolls back.
 */
import { and, eq, isNull, lt } from 'drizzle-orm';
import type { WarmboxDb } from './client.js';
import { DbConflict } from './jobs.js';
import { idempotencyKeys, type IdempotencyKeyRow } from './schema.js';

export interface NewIdempotencyKey {
  key: string;
  requestHash: string;
  jobIds: string[];
  createdAt: number;
}

/** The key's record if it was made at or after `notBefore` (older ones have expired). */
export function findIdempotencyKey(db: WarmboxDb, key: string, notBefore: number): IdempotencyKeyRow | undefined {
  const row = db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key)).get();
  return row !== undefined && row.createdAt >= notBefore ? row : undefined;
}

/**
 * Inside a transaction: records the key, replacing an expired record of it; throws DbConflict
 * (rolling the transaction back) when a live record exists, i.e. another submission won.
 */
export function claimIdempotencyKey(tx: WarmboxDb, entry: NewIdempotencyKey, notBefore: number): void {
  tx.delete(idempotencyKeys).where(and(eq(idempotencyKeys.key, entry.key), lt(idempotencyKeys.createdAt, notBefore))).run();
  const { changes } = tx.insert(idempotencyKeys).values(entry).onConflictDoNothing().run();
  if (changes !== 1) throw new DbConflict(`idempotency key ${JSON.stringify(entry.key)} is taken`);
}

/** Its jobs are queued: replays may answer with them. */
export function completeIdempotencyKey(db: WarmboxDb, key: string, at: number): void {
  db.update(idempotencyKeys).set({ completedAt: at }).where(and(eq(idempotencyKeys.key, key), isNull(idempotencyKeys.completedAt))).run();
}

/** Inside a transaction: forgets a key whose jobs are being taken back (their enqueue failed). */
export function forgetIdempotencyKey(tx: WarmboxDb, key: string): void {
  tx.delete(idempotencyKeys).where(eq(idempotencyKeys.key, key)).run();
}

/** Deletes the records made before `before`; returns how many. */
export function pruneIdempotencyKeys(db: WarmboxDb, before: number): number {
  return db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, before)).run().changes;
}
