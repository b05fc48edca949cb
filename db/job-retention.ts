/**
 * Retention (README "Quotas"): finished jobs deleted some time after they finished, with their
 * output (in the row) and their webhook deliveries and attempts (ON DELETE CASCADE). In small
 * batches, each its own short transaction, so that a sweep never holds the db or the event loop long.
 */
import { and, eq, inArray, lt, notInArray, sql } from 'drizzle-orm';
import type { WarmboxDb } from './client.js';
import { idempotencyKeys, jobs } from './schema.js';

/** Whose jobs: one tenant's, or every tenant's but these (jobs of tenants with no policy of their own). */
export type RetentionScope = { tenantId: string } | { exceptTenantIds: string[] };

/** Deletes up to `limit` jobs of the scope that finished before `before` (epoch ms); returns how many. */
export function pruneFinishedJobs(db: WarmboxDb, scope: RetentionScope, before: number, limit: number): number {
  const tenant = 'tenantId' in scope ? eq(jobs.tenantId, scope.tenantId) : scope.exceptTenantIds.length > 0 ? notInArray(jobs.tenantId, scope.exceptTenantIds) : undefined;
  return db.transaction((tx) => {
    const ids = tx
      .select({ id: jobs.id })
      .from(jobs)
      .where(and(tenant, eq(jobs.status, 'finished'), lt(jobs.finishedAt, before)))
      .limit(limit)
      .all()
      .map((r) => r.id);
    return ids.length === 0 ? 0 : tx.delete(jobs).where(inArray(jobs.id, ids)).run().changes;
  });
}

/** Deletes up to `limit` Idempotency-Key records made before `before`; returns how many. */
export function pruneIdempotencyKeyBatch(db: WarmboxDb, before: number, limit: number): number {
  const oldest = db.select({ key: idempotencyKeys.key }).from(idempotencyKeys).where(lt(idempotencyKeys.createdAt, before)).limit(limit);
  return db.delete(idempotencyKeys).where(sql`${idempotencyKeys.key} in ${oldest}`).run().changes;
}
