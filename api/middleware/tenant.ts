/**
 * Who a request acts for: `c.get('tenant')` in every handler. With auth off (a loopback server,
 * README "Tenants and keys") that is the built-in local tenant, whose policy is the server's
 * configuration.
 */
import type { MiddlewareHandler } from 'hono';
import { LOCAL_TENANT_ID, UNRESTRICTED_POLICY, type Tenant, type TenantPolicy } from '../../contract/tenant.js';

declare module 'hono' {
  interface ContextVariableMap {
    tenant: Tenant;
  }
}

export function localTenant(policy: TenantPolicy = UNRESTRICTED_POLICY): Tenant {
  return { id: LOCAL_TENANT_ID, name: LOCAL_TENANT_ID, policy };
}

/** Every request acts for `tenant`. */
export function actAs(tenant: Tenant): MiddlewareHandler {
  return async function actAs(c, next) {
    c.set('tenant', tenant);
    await next();
  };
}
