/**
 * What a caller sees: its own tenant's jobs and triggers; an admin key (and the local user of an
 * auth-off server) every tenant's. Another tenant's job or trigger is answered as one that does
 * not exist (404), so that its existence does not leak.
 */
import type { Context } from 'hono';
import { grants } from '../contract/api-key.js';
import { findTenantRow } from '../db/tenants.js';
import { LOCAL_TENANT_ID } from '../contract/tenant.js';
import type { AppDeps } from './deps.js';
import { ApiError } from './errors.js';

export function seesAllTenants(c: Context): boolean {
  return grants(c.get('access').scopes, 'admin');
}

/** Whether the caller may see (and act on) what `tenantId` owns. */
export function visibleTo(c: Context, tenantId: string): boolean {
  return tenantId === c.get('tenant').id || seesAllTenants(c);
}

/**
 * Whose rows a listing shows: undefined for every tenant's. `?tenant=` (an id or a name) narrows an
 * admin's listing to one tenant; any other caller sees its own, and naming another tenant is 403.
 */
export async function listedTenant(deps: Pick<AppDeps, 'db'>, c: Context, asked: string | undefined): Promise<string | undefined> {
  const own = c.get('tenant');
  if (!seesAllTenants(c)) {
    if (asked !== undefined && asked !== own.id && asked !== own.name) {
      throw new ApiError(403, 'forbidden', 'only an admin key lists another tenant\'s jobs or triggers', { scope: 'admin', field: 'tenant', in: 'query' });
    }
    return own.id;
  }
  if (asked === undefined) return undefined;
  if (asked === LOCAL_TENANT_ID) return LOCAL_TENANT_ID;
  const row = await findTenantRow(deps.db, asked);
  if (row === undefined) throw new ApiError(404, 'tenant_not_found', `no tenant ${JSON.stringify(asked)}`, { field: 'tenant', in: 'query' });
  return row.id;
}
