/** A tenant's policy in the `tenants` table (contract/tenant.ts): read for sweeps, replaced by PUT /v1/tenants/{id}/policy. */
import { eq, or } from 'drizzle-orm';
import type { TenantPolicy } from '../contract/tenant.js';
import type { WarmboxDb } from './client.js';
import { tenants, type TenantRow } from './schema.js';

/** False when no such tenant. */
export function setTenantPolicy(db: WarmboxDb, id: string, policy: TenantPolicy): boolean {
  return db.update(tenants).set({ policy }).where(eq(tenants.id, id)).run().changes === 1;
}

/** Every stored tenant's retention (null: the server's default). */
export function listTenantRetention(db: WarmboxDb): { id: string; retentionSeconds: number | null }[] {
  return db
    .select({ id: tenants.id, policy: tenants.policy })
    .from(tenants)
    .all()
    .map((t) => ({ id: t.id, retentionSeconds: t.policy.retentionSeconds ?? null }));
}

/** A stored tenant by its id or its name. */
export function findTenantByIdOrName(db: WarmboxDb, idOrName: string): TenantRow | undefined {
  return db.select().from(tenants).where(or(eq(tenants.id, idOrName), eq(tenants.name, idOrName))).get();
}
