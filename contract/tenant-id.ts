/** Tenant ids: `ten_` and 16 hex digits, made by warmbox (names are the tenants' own). */
import { randomBytes } from 'node:crypto';

export const TENANT_ID_PATTERN = /^ten_[0-9a-f]{16}$/;

export function newTenantId(): string {
  return `ten_${randomBytes(8).toString('hex')}`;
}

/** A tenant's name: what `--tenant` and POST /v1/tenants take. */
export const TENANT_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/**
 * Why a name cannot be a new tenant's, or undefined. `local` is the built-in tenant's, and a name
 * that looks like an id would make `--tenant` ambiguous.
 */
export function tenantNameProblem(name: string): string | undefined {
  if (!TENANT_NAME_PATTERN.test(name)) return 'must be 1 to 63 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit';
  if (name === 'local') return 'is the built-in tenant of a server without auth';
  if (name.startsWith('ten_')) return 'must not start with ten_ (tenant ids do)';
  return undefined;
}
