/** A tenant's policy in the `tenants` table (contract/tenant.ts): read for sweeps, replaced by PUT /v1/tenants/{id}/policy. */
import { eq } from 'drizzle-orm';
import type { TenantPolicy } from '../contract/tenant.js';
import type { WarmboxDb } from './client.js';
import { tenants } from './schema.js';

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

