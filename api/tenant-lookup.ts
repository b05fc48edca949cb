/** The tenant a stored id names: the local tenant (policy from the configuration) or a row of `tenants`. */
import { LOCAL_TENANT_ID, type Tenant } from '../contract/tenant.js';
import { getTenantRow } from '../db/tenants.js';
import type { AppDeps } from './deps.js';
import { localTenant } from './middleware/tenant.js';

/** Undefined when the tenant was deleted since (what it owns is then no one's to act for). */
export function tenantById(deps: Pick<AppDeps, 'db' | 'config'>, id: string): Tenant | undefined {
  if (id === LOCAL_TENANT_ID) return localTenant(deps.config.localTenantPolicy);
  const row = getTenantRow(deps.db, id);
  return row && { id: row.id, name: row.name, policy: row.policy };
}
