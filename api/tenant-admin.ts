/**
 * Making and removing tenants and keys: the rules, shared by /v1/keys and /v1/tenants and by
 * `warmbox keys|tenants` on the server host (server/host-admin.ts), which works on the db directly
 * (that is how the first admin key is made). Refusals are ApiErrors, as the routes answer them.
 */
import { DEFAULT_KEY_SCOPES, KEY_ID_PATTERN, newKeySecret, type Scope } from '../contract/api-key.js';
import { LOCAL_TENANT_ID, UNRESTRICTED_POLICY } from '../contract/tenant.js';
import { newTenantId, tenantNameProblem } from '../contract/tenant-id.js';
import { createApiKey, getApiKey, revokeApiKey } from '../db/api-keys.js';
import type { WarmboxDb } from '../db/client.js';
import type { ApiKeyRow, TenantRow } from '../db/schema.js';
import { createTenantRow, deleteTenantRow, findTenantRow } from '../db/tenants.js';
import { ApiError } from './errors.js';
import { REQUEST_BOUNDS } from './request-bounds.js';

export interface KeyRequest {
  /** An id or a name; `local` is the built-in tenant. */
  tenant: string;
  name?: string;
  scopes?: readonly Scope[];
  expiresInSeconds?: number;
}

/** The key's row and its token, which nothing stores: show it once. */
export async function issueKey(db: WarmboxDb, request: KeyRequest, now = Date.now()): Promise<{ row: ApiKeyRow; token: string }> {
  const tenantId = await tenantIdOr404(db, request.tenant);
  const { expiresInSeconds } = request;
  if (expiresInSeconds !== undefined && !(Number.isInteger(expiresInSeconds) && expiresInSeconds >= 1 && expiresInSeconds <= REQUEST_BOUNDS.keyExpiresInSecondsMaximum)) {
    throw new ApiError(422, 'above_maximum', `expiresInSeconds must be an integer from 1 to ${REQUEST_BOUNDS.keyExpiresInSecondsMaximum}`, {
      field: 'expiresInSeconds',
      maximum: REQUEST_BOUNDS.keyExpiresInSecondsMaximum,
    });
  }
  const secret = newKeySecret();
  const row: ApiKeyRow = {
    id: secret.id,
    tenantId,
    name: request.name ?? null,
    secretHash: secret.secretHash,
    scopes: [...(request.scopes ?? DEFAULT_KEY_SCOPES)],
    createdAt: now,
    lastUsedAt: null,
    revokedAt: null,
    expiresAt: expiresInSeconds === undefined ? null : now + expiresInSeconds * 1000,
  };
  await createApiKey(db, row);
  return { row, token: secret.token };
}

/** Revoking a revoked key changes nothing; an unknown one is 404. Returns the key. */
export async function revokeKey(db: WarmboxDb, id: string, now = Date.now()): Promise<ApiKeyRow> {
  const key = KEY_ID_PATTERN.test(id) ? await getApiKey(db, id) : undefined;
  if (key === undefined) throw new ApiError(404, 'key_not_found', `no API key ${JSON.stringify(id)}`);
  await revokeApiKey(db, id, now);
  return key;
}

export async function makeTenant(db: WarmboxDb, name: string, now = Date.now()): Promise<TenantRow> {
  const problem = tenantNameProblem(name);
  if (problem !== undefined) throw new ApiError(422, 'invalid_tenant_name', `name ${JSON.stringify(name)} ${problem}`, { field: 'name' });
  const row: TenantRow = { id: newTenantId(), name, policy: { ...UNRESTRICTED_POLICY }, createdAt: now };
  if (!(await createTenantRow(db, row))) throw new ApiError(409, 'tenant_exists', `a tenant named ${JSON.stringify(name)} exists`, { field: 'name' });
  return row;
}

/** Deletes the tenant, its keys and its triggers; `exceptId` is the caller's own tenant (409). */
export async function removeTenant(db: WarmboxDb, idOrName: string, exceptId?: string): Promise<TenantRow> {
  const row = await findTenantRow(db, idOrName);
  if (row === undefined) throw new ApiError(404, 'tenant_not_found', `no tenant ${JSON.stringify(idOrName)}`);
  if (row.id === exceptId) throw new ApiError(409, 'own_tenant', 'a key cannot delete its own tenant: use a key of another tenant');
  const outcome = await deleteTenantRow(db, row.id);
  if (outcome === 'not_found') throw new ApiError(404, 'tenant_not_found', `no tenant ${JSON.stringify(idOrName)}`);
  if (outcome === 'unfinished_jobs') throw new ApiError(409, 'tenant_has_jobs', `tenant ${row.name} has queued or running jobs: cancel them or wait for them to finish`);
  return row;
}

export async function tenantIdOr404(db: WarmboxDb, idOrName: string): Promise<string> {
  if (idOrName === LOCAL_TENANT_ID) return LOCAL_TENANT_ID;
  const row = await findTenantRow(db, idOrName);
  if (row === undefined) throw new ApiError(404, 'tenant_not_found', `no tenant ${JSON.stringify(idOrName)}`, { field: 'tenant' });
  return row.id;
}
