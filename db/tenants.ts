/** Queries on `tenants` (contract/tenant.ts). The local tenant has no row: tenantOf makes it. */
import { and, eq, inArray, or } from 'drizzle-orm';
import { LOCAL_TENANT_ID, UNRESTRICTED_POLICY, type Tenant, type TenantPolicy } from '../contract/tenant.js';
import { changesOf, first, type WarmboxDb } from './database.js';
import { DbWriteError } from './db-write-error.js';
import type { TenantRow } from './schema.js';

/**
 * The tenant a stored id names: the local tenant (no row; its policy is the configuration's) or a
 * row's. Undefined when the tenant was deleted since.
 */
export async function tenantOf(db: WarmboxDb, id: string, localPolicy: TenantPolicy = UNRESTRICTED_POLICY): Promise<Tenant | undefined> {
  if (id === LOCAL_TENANT_ID) return { id: LOCAL_TENANT_ID, name: LOCAL_TENANT_ID, policy: localPolicy };
  const row = await getTenantRow(db, id);
  return row && { id: row.id, name: row.name, policy: row.policy };
}

export function getTenantRow(db: WarmboxDb, id: string): Promise<TenantRow | undefined> {
  const { tenants } = db.t;
  return db.query(async (q) => first(await q.select().from(tenants).where(eq(tenants.id, id)).limit(1)));
}

/** By id or by name. */
export function findTenantRow(db: WarmboxDb, idOrName: string): Promise<TenantRow | undefined> {
  const { tenants } = db.t;
  return db.query(async (q) => first(await q.select().from(tenants).where(or(eq(tenants.id, idOrName), eq(tenants.name, idOrName))).limit(1)));
}

/** Oldest first. */
export function listTenantRows(db: WarmboxDb): Promise<TenantRow[]> {
  const { tenants } = db.t;
  return db.query(async (q) => q.select().from(tenants).orderBy(tenants.createdAt, tenants.id));
}

/** Returns false when the name is taken. */
export async function createTenantRow(db: WarmboxDb, row: TenantRow): Promise<boolean> {
  const { tenants } = db.t;
  try {
    return await db.query(async (q) => changesOf(await q.insert(tenants).values(row).onConflictDoNothing()) === 1);
  } catch (err) {
    throw DbWriteError.from(err);
  }
}

export type TenantDeletion = 'deleted' | 'not_found' | 'unfinished_jobs';

/**
 * Deletes a tenant with its keys and triggers (what would act for it); its finished jobs stay in
 * the history. Refused while it has queued or running jobs: they would finish for no one.
 */
export async function deleteTenantRow(db: WarmboxDb, id: string): Promise<TenantDeletion> {
  const { apiKeys, jobs, tenants, triggerDeliveries, triggers } = db.t;
  try {
    return await db.transaction(async (tx) => {
      if ((await getTenantRow(tx, id)) === undefined) return 'not_found';
      return tx.query(async (q): Promise<TenantDeletion> => {
        const unfinished = await q
          .select({ id: jobs.id })
          .from(jobs)
          .where(and(eq(jobs.tenantId, id), inArray(jobs.status, ['queued', 'running'])))
          .limit(1);
        if (unfinished.length > 0) return 'unfinished_jobs';
        const owned = (await q.select({ id: triggers.id }).from(triggers).where(eq(triggers.tenantId, id))).map((t) => t.id);
        if (owned.length > 0) await q.delete(triggerDeliveries).where(inArray(triggerDeliveries.triggerId, owned));
        await q.delete(triggers).where(eq(triggers.tenantId, id));
        await q.delete(apiKeys).where(eq(apiKeys.tenantId, id));
        await q.delete(tenants).where(eq(tenants.id, id));
        return 'deleted';
      });
    });
  } catch (err) {
    throw DbWriteError.from(err);
  }
}
