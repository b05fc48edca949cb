/** A tenant's policy in the `tenants` table (contract/tenant.ts): read for sweeps, replaced by PUT /v1/tenants/{id}/policy. */
import { eq } from 'drizzle-orm';
import type { TenantPolicy } from '../contract/tenant.js';
import { changesOf, type WarmboxDb } from './database.js';

/** False when no such tenant. */
export function setTenantPolicy(db: WarmboxDb, id: string, policy: TenantPolicy): Promise<boolean> {
  const { tenants } = db.t;
  return db.query(async (q) => changesOf(await q.update(tenants).set({ policy }).where(eq(tenants.id, id))) === 1);
}

/** Every stored tenant's retention (null: the server's default). */
export async function listTenantRetention(db: WarmboxDb): Promise<{ id: string; retentionSeconds: number | null }[]> {
  const { tenants } = db.t;
  const rows = await db.query(async (q) => q.select({ id: tenants.id, policy: tenants.policy }).from(tenants));
  return rows.map((t) => ({ id: t.id, retentionSeconds: t.policy.retentionSeconds ?? null }));
}
