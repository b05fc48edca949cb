/**
 * /v1/tenants: who API keys act for, for admin keys (api/route-scopes.ts). A tenant is made with
 * the unrestricted policy; PUT /v1/tenants/{id}/policy narrows it. The local tenant of servers
 * without auth is built in: it is not listed and cannot be made or deleted.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { TenantRow } from '../../db/schema.js';
import { listTenantRows } from '../../db/tenants.js';
import type { AppDeps } from '../deps.js';
import { parseJsonBody } from '../middleware/json-body.js';
import { errorResponse } from '../schemas/error.js';
import { createTenantSchema, tenantParams, tenantViewSchema } from '../schemas/tenants.js';
import { makeTenant, removeTenant } from '../tenant-admin.js';

export function registerTenants(app: OpenAPIHono, deps: AppDeps): void {
  registerCreate(app, deps);
  registerList(app, deps);
  registerDelete(app, deps);
}

function registerCreate(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'post',
    path: '/v1/tenants',
    operationId: 'createTenant',
    tags: ['admin'],
    summary: 'Make a tenant',
    middleware: [parseJsonBody] as const,
    request: { body: { required: true, content: { 'application/json': { schema: createTenantSchema } } } },
    responses: {
      201: { description: 'Made, with the unrestricted policy.', content: { 'application/json': { schema: tenantViewSchema } } },
      409: errorResponse('The name is taken (tenant_exists).'),
      422: errorResponse('A name a tenant cannot have (`local`, or one that starts like an id: invalid_tenant_name).'),
    },
  });
  app.openapi(route, async (c) => {
    const row = await makeTenant(deps.db, c.req.valid('json').name);
    deps.logger.info({ tenant: row.id, name: row.name, by: c.get('access').keyId }, 'tenant created');
    return c.json(toTenantView(row), 201);
  });
}

function registerList(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'get',
    path: '/v1/tenants',
    operationId: 'listTenants',
    tags: ['admin'],
    summary: 'The tenants, oldest first',
    responses: { 200: { description: 'Every tenant (not the built-in local one).', content: { 'application/json': { schema: z.object({ tenants: z.array(tenantViewSchema) }) } } } },
  });
  app.openapi(route, async (c) => c.json({ tenants: (await listTenantRows(deps.db)).map(toTenantView) }, 200));
}

function registerDelete(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'delete',
    path: '/v1/tenants/{id}',
    operationId: 'deleteTenant',
    tags: ['admin'],
    summary: 'Delete a tenant, its keys and its triggers',
    description: 'Its finished jobs stay in the history. Refused while it has queued or running jobs (cancel them, or wait), and for the tenant of the key that asks.',
    request: { params: tenantParams },
    responses: {
      204: { description: 'Deleted.' },
      404: errorResponse('No such tenant (tenant_not_found).'),
      409: errorResponse('The tenant has queued or running jobs (tenant_has_jobs), or is the caller\'s own (own_tenant).'),
    },
  });
  app.openapi(route, async (c) => {
    const row = await removeTenant(deps.db, c.req.valid('param').id, c.get('tenant').id);
    deps.logger.info({ tenant: row.id, name: row.name, by: c.get('access').keyId }, 'tenant deleted');
    return c.body(null, 204);
  });
}

export function toTenantView(row: TenantRow): z.infer<typeof tenantViewSchema> {
  return { id: row.id, name: row.name, policy: { ...row.policy }, createdAt: new Date(row.createdAt).toISOString() };
}
