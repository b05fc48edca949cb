/** Queries on `tenants` (contract/tenant.ts). The local tenant has no row: tenantOf makes it. */
import { and, eq, inArray, or } from 'drizzle-orm';
import { LOCAL_TENANT_ID, UNRESTRICTED_POLICY, type Tenant, type TenantPolicy } from '../contract/tenant.js';
import type { WarmboxDb } from './client.js';
import { DbWriteError } from './db-write-error.js';
import { apiKeys, jobs, tenants, triggerDeliveries, triggers, type TenantRow } from './schema.js';

/**
 * The tenant a stored id names: the local tenant (no row; its policy is the configuration's) or a
 * row's. Undefined when the tenant was deleted since.
 */
export function tenantOf(db: WarmboxDb, id: string, localPolicy: TenantPolicy = UNRESTRICTED_POLICY): Tenant | undefined {
  if (id === LOCAL_TENANT_ID) return { id: LOCAL_TENANT_ID, name: LOCAL_TENANT_ID, policy: localPolicy };
  const row = getTenantRow(db, id);
  return row && { id: row.id, name: row.name, policy: row.policy };
}

export function getTenantRow(db: WarmboxDb, id: string): TenantRow | undefined {
  return db.select().from(tenants).where(eq(tenants.id, id)).get();
}

/** By id or by name. */
export function findTenantRow(db: WarmboxDb, idOrName: string): TenantRow | undefined {
  return db.select().from(tenants).where(or(eq(tenants.id, idOrName), eq(tenants.name, idOrName))).get();
}

/** Oldest first. */
export function listTenantRows(db: WarmboxDb): TenantRow[] {
  return db.select().from(tenants).orderBy(tenants.createdAt, tenants.id).all();
}

/** Returns false when the name is taken. */
export function createTenantRow(db: WarmboxDb, row: TenantRow): boolean {
  try {
    return db.insert(tenants).values(row).onConflictDoNothing().run().changes === 1;
  } catch (err) {
    throw DbWriteError.from(err);
  }
}

export type TenantDeletion = 'deleted' | 'not_found' | 'unfinished_jobs';

/**
 * Deletes a tenant with its keys and triggers (what would act for it); its finished jobs stay in
 * the history. Refused while it has queued or running jobs: they would finish for no one.
 */
export function deleteTenantRow(db: WarmboxDb, id: string): TenantDeletion {
  try {
    return db.transaction((tx) => {
      if (getTenantRow(tx as unknown as WarmboxDb, id) === undefined) return 'not_found';
      const unfinished = tx.select({ id: jobs.id }).from(jobs).where(and(eq(jobs.tenantId, id), inArray(jobs.status, ['queued', 'running']))).limit(1).get();
      if (unfinished !== undefined) return 'unfinished_jobs';
      const owned = tx.select({ id: triggers.id }).from(triggers).where(eq(triggers.tenantId, id)).all().map((t) => t.id);
      if (owned.length > 0) tx.delete(triggerDeliveries).where(inArray(triggerDeliveries.triggerId, owned)).run();
      tx.delete(triggers).where(eq(triggers.tenantId, id)).run();
      tx.delete(apiKeys).where(eq(apiKeys.tenantId, id)).run();
      tx.delete(tenants).where(eq(tenants.id, id)).run();
      return 'deleted';
    });
  } catch (err) {
    throw DbWriteError.from(err);
  }
}
