/** The tenant a stored id names: the local tenant (policy from the configuration) or a row of `tenants`. */
import type { Tenant } from '../contract/tenant.js';
import { tenantOf } from '../db/tenants.js';
import type { AppDeps } from './deps.js';

/** Undefined when the tenant was deleted since (what it owns is then no one's to act for). */
export function tenantById(deps: Pick<AppDeps, 'db' | 'config'>, id: string): Promise<Tenant | undefined> {
  return tenantOf(deps.db, id, deps.config.localTenantPolicy);
}
