/**
 * /v1/keys: API keys, for admin keys (api/route-scopes.ts). The token is in the answer that made
 * the key, and nowhere else: warmbox stores a hash of its secret (contract/api-key.ts).
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { listApiKeys } from '../../db/api-keys.js';
import type { ApiKeyRow } from '../../db/schema.js';
import type { AppDeps } from '../deps.js';
import { parseJsonBody } from '../middleware/json-body.js';
import { errorResponse } from '../schemas/error.js';
import { createdKeySchema, createKeySchema, keyViewSchema, type KeyView } from '../schemas/keys.js';
import { issueKey, revokeKey } from '../tenant-admin.js';
import { listedTenant } from '../tenant-scope.js';

export function registerKeys(app: OpenAPIHono, deps: AppDeps): void {
  registerCreate(app, deps);
  registerList(app, deps);
  registerRevoke(app, deps);
}

function registerCreate(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'post',
    path: '/v1/keys',
    operationId: 'createKey',
    tags: ['admin'],
    summary: 'Make an API key for a tenant',
    description: 'The answer holds the token: the only time warmbox shows it.',
    middleware: [parseJsonBody] as const,
    request: { body: { required: true, content: { 'application/json': { schema: createKeySchema } } } },
    responses: {
      201: { description: 'Made. `token` is in this answer only.', content: { 'application/json': { schema: createdKeySchema } } },
      404: errorResponse('`tenant` names no tenant (tenant_not_found).'),
      422: errorResponse('A name or an expiry beyond its bound.'),
    },
  });
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const { row, token } = await issueKey(deps.db, { ...body, tenant: body.tenant ?? c.get('tenant').id });
    deps.logger.info({ key: row.id, tenant: row.tenantId, scopes: row.scopes, by: c.get('access').keyId }, 'API key created');
    return c.json({ ...toKeyView(row), token }, 201);
  });
}

function registerList(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'get',
    path: '/v1/keys',
    operationId: 'listKeys',
    tags: ['admin'],
    summary: 'The API keys, oldest first (no secrets)',
    request: { query: z.object({ tenant: z.string().min(1).max(64).optional().openapi({ description: "Only this tenant's keys (an id or a name)." }) }) },
    responses: {
      200: { description: 'The keys, revoked ones included.', content: { 'application/json': { schema: z.object({ keys: z.array(keyViewSchema) }) } } },
      404: errorResponse('`tenant` names no tenant (tenant_not_found).'),
    },
  });
  app.openapi(route, async (c) => c.json({ keys: (await listApiKeys(deps.db, await listedTenant(deps, c, c.req.valid('query').tenant))).map(toKeyView) }, 200));
}

function registerRevoke(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'delete',
    path: '/v1/keys/{id}',
    operationId: 'revokeKey',
    tags: ['admin'],
    summary: 'Revoke an API key',
    description: 'Requests with it are refused (401) from now on. The key stays listed, with `revokedAt`. Revoking it again changes nothing.',
    request: { params: z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: '3f9c2a7d1b8e4c60' }) }) },
    responses: {
      204: { description: 'Revoked.' },
      404: errorResponse('No such key (key_not_found).'),
    },
  });
  app.openapi(route, async (c) => {
    const key = await revokeKey(deps.db, c.req.valid('param').id);
    if (key.revokedAt === null) deps.logger.info({ key: key.id, tenant: key.tenantId, by: c.get('access').keyId }, 'API key revoked');
    return c.body(null, 204);
  });
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function toKeyView(row: ApiKeyRow): KeyView {
  return {
    id: row.id,
    tenantId: row.tenantId,
    name: row.name,
    scopes: row.scopes,
    createdAt: iso(row.createdAt)!,
    lastUsedAt: iso(row.lastUsedAt),
    revokedAt: iso(row.revokedAt),
    expiresAt: iso(row.expiresAt),
  };
}
