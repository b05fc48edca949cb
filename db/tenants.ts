/** Queries on `tenants` (contract/tenant.ts). The local tenant has no row: api/tenant-lookup.ts makes it. */
import { eq } from 'drizzle-orm';
import type { WarmboxDb } from './client.js';
import { tenants, type TenantRow } from './schema.js';

export function getTenantRow(db: WarmboxDb, id: string): TenantRow | undefined {
  return db.select().from(tenants).where(eq(tenants.id, id)).get();
}
