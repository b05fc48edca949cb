/**
 * Retention (README "Quotas"): finished jobs deleted some time after they finished, with their
 * output (in the row) and their webhook deliveries and attempts (ON DELETE CASCADE). In small
 * batches, each its own short transaction, so that a sweep never holds the db or the event loop long.
 */
import { and, eq, inArray, lt, notInArray, sql } from 'drizzle-orm';
import { changesOf, type WarmboxDb } from './database.js';

/** Whose jobs: one tenant's, or every tenant's but these (jobs of tenants with no policy of their own). */
export type RetentionScope = { tenantId: string } | { exceptTenantIds: string[] };

/** Deletes up to `limit` jobs of the scope that finished before `before` (epoch ms); returns how many. */
export function pruneFinishedJobs(db: WarmboxDb, scope: RetentionScope, before: number, limit: number): Promise<number> {
  const { jobs } = db.t;
  const tenant = 'tenantId' in scope ? eq(jobs.tenantId, scope.tenantId) : scope.exceptTenantIds.length > 0 ? notInArray(jobs.tenantId, scope.exceptTenantIds) : undefined;
  return db.transaction((tx) =>
    tx.query(async (q) => {
      const rows = await q
        .select({ id: jobs.id })
        .from(jobs)
        .where(and(tenant, eq(jobs.status, 'finished'), lt(jobs.finishedAt, before)))
        .limit(limit);
      const ids = rows.map((r) => r.id);
      return ids.length === 0 ? 0 : changesOf(await q.delete(jobs).where(inArray(jobs.id, ids)));
    }),
  );
}

/** Deletes up to `limit` Idempotency-Key records made before `before`; returns how many. */
export function pruneIdempotencyKeyBatch(db: WarmboxDb, before: number, limit: number): Promise<number> {
  const { idempotencyKeys } = db.t;
  return db.query(async (q) => {
    const oldest = q.select({ key: idempotencyKeys.key }).from(idempotencyKeys).where(lt(idempotencyKeys.createdAt, before)).limit(limit);
    return changesOf(await q.delete(idempotencyKeys).where(sql`${idempotencyKeys.key} in ${oldest}`));
  });
}
