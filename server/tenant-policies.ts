/** A tenant's policy as a worker or a sweep reads it: the local tenant's from the configuration, others' from the db. */
import { LOCAL_TENANT_ID, type TenantPolicy } from '../contract/tenant.js';
import type { WarmboxDb } from '../db/client.js';
import { getTenantRow } from '../db/tenants.js';

/** Undefined for a tenant deleted since. */
export function tenantPolicyOf(db: WarmboxDb, localPolicy: TenantPolicy, tenantId: string): TenantPolicy | undefined {
  if (tenantId === LOCAL_TENANT_ID) return localPolicy;
  return getTenantRow(db, tenantId)?.policy;
}
