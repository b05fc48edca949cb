/**
 * Who a request is, and whether it may do what it asks (README "Tenants and keys").
 *
 * Auth on: `Authorization: Bearer wbx_<id>_<secret>` names an API key; the key's tenant becomes
 * `c.get('tenant')` and its scopes `c.get('access')`. A missing, unknown, revoked or expired key
 * → 401 with `WWW-Authenticate: Bearer`; a key without the route's scope (api/route-scopes.ts)
 * → 403 naming it. Public routes take no key. Auth off (a loopback server): every request acts
 * for the local tenant with every scope, as one trusted local user did before keys existed.
 *
 * The token is never logged: only its key id appears anywhere, and pino redacts `authorization`.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { grants, parseToken, SCOPES, secretMatches, type Scope } from '../../contract/api-key.js';
import type { Tenant } from '../../contract/tenant.js';
import { getApiKey } from '../../db/api-keys.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { KeyUsage } from '../key-usage.js';
import { accessOf, type RouteAccess } from '../route-scopes.js';
import { tenantById } from '../tenant-lookup.js';
import { localTenant } from './tenant.js';

/** What the caller may do beyond its tenant. */
export interface Access {
  /** The key the request came with; null with auth off. */
  keyId: string | null;
  scopes: readonly Scope[];
}

declare module 'hono' {
  interface ContextVariableMap {
    access: Access;
  }
}

const CHALLENGE = 'Bearer realm="warmbox"';

export function authenticate(deps: Pick<AppDeps, 'db' | 'config'>): MiddlewareHandler {
  if (deps.config.auth !== true) return actAsLocal(localTenant(deps.config.localTenantPolicy));
  const usage = new KeyUsage(deps.db);
  return async function authenticate(c, next) {
    const needed = routeAccess(c);
    // An internal route checks the workers' token itself (api/routes/internal-blobs.ts).
    if (needed === undefined || needed === 'public' || needed === 'internal') return next();
    const { tenant, access } = await callerOf(deps, c.req.header('authorization'), usage);
    if (!grants(access.scopes, needed)) {
      throw new ApiError(403, 'forbidden', `this API key lacks the scope ${needed} that ${c.req.method} ${c.req.path} needs`, { scope: needed });
    }
    c.set('tenant', tenant);
    c.set('access', access);
    await next();
  };
}

function actAsLocal(tenant: Tenant): MiddlewareHandler {
  const access: Access = { keyId: null, scopes: SCOPES };
  return async function actAsLocal(c, next) {
    c.set('tenant', tenant);
    c.set('access', access);
    await next();
  };
}

/**
 * The scope of the route that will answer (the first matched handler, as hono runs them);
 * undefined when none matches (the 404 of an unknown path needs no key). A route missing from
 * the table needs `admin`: a new route is closed until it is placed there.
 */
function routeAccess(c: Context): RouteAccess | undefined {
  const route = matchedRoutes(c).find((r) => r.method !== 'ALL');
  if (route === undefined) return undefined;
  return accessOf(route.method, route.path) ?? 'admin';
}

async function callerOf(deps: Pick<AppDeps, 'db' | 'config'>, header: string | undefined, usage: KeyUsage): Promise<{ tenant: Tenant; access: Access }> {
  const m = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
  if (m === null) throw unauthorized('this server needs an API key: send Authorization: Bearer <key> (README "Tenants and keys")');
  const parsed = parseToken(m[1]!);
  const key = parsed && (await getApiKey(deps.db, parsed.id));
  // One answer for a malformed token, an unknown id and a wrong secret: nothing to probe.
  if (parsed === undefined || key === undefined || !secretMatches(parsed.secret, key.secretHash)) throw unauthorized('the API key is not valid', true);
  const now = Date.now();
  if (key.revokedAt !== null) throw unauthorized(`the API key ${key.id} was revoked`, true);
  if (key.expiresAt !== null && key.expiresAt <= now) throw unauthorized(`the API key ${key.id} has expired`, true);
  const tenant = await tenantById(deps, key.tenantId);
  if (tenant === undefined) throw unauthorized(`the tenant of API key ${key.id} no longer exists`, true);
  usage.used(key.id, key.lastUsedAt, now);
  return { tenant, access: { keyId: key.id, scopes: key.scopes } };
}

function unauthorized(message: string, invalidToken = false): ApiError {
  return new ApiError(401, 'unauthorized', message, {}, { 'WWW-Authenticate': invalidToken ? `${CHALLENGE}, error="invalid_token"` : CHALLENGE });
}
