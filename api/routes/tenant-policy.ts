/**
 * GET/PUT /v1/tenants/{id}/policy: what a tenant's policy lets it do (README "Quotas"). The local
 * tenant's policy is the server's configuration (WARMBOX_TENANT_*): readable here, changed only there
 * (PUT → 409). A changed policy applies to the next submission, and to running caps and retention
 * at once.
 */
import { tenantIdOr404 } from '../tenant-admin.js';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { normalizedPattern } from '../../contract/image-allow-list.js';
import { LOCAL_TENANT_ID, type TenantPolicy } from '../../contract/tenant.js';
import { setTenantPolicy } from '../../db/tenant-policy.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { parseJsonBody } from '../middleware/json-body.js';
import { errorResponse } from '../schemas/error.js';
import { tenantPolicySchema, tenantPolicyViewSchema } from '../schemas/tenant-policy.js';
import { tenantById } from '../tenant-lookup.js';

const params = z.object({
  id: z.string().min(1).max(128).openapi({ param: { name: 'id', in: 'path' }, description: 'The tenant\'s id or name (`local` while auth is off).', example: LOCAL_TENANT_ID }),
});

export function registerTenantPolicy(app: OpenAPIHono, deps: AppDeps): void {
  const get = createRoute({
    method: 'get',
    path: '/v1/tenants/{id}/policy',
    operationId: 'getTenantPolicy',
    tags: ['tenants'],
    summary: 'A tenant\'s policy: its rate limit, caps, allowed images, network and retention',
    request: { params },
    responses: {
      200: { description: 'The policy in force.', content: { 'application/json': { schema: tenantPolicyViewSchema } } },
      404: errorResponse('No such tenant (tenant_not_found).'),
    },
  });
  app.openapi(get, async (c) => {
    const id = await tenantIdOr404(deps.db, c.req.valid('param').id);
    return c.json(view(id, (await tenantOr404(deps, id)).policy), 200);
  });

  const put = createRoute({
    method: 'put',
    path: '/v1/tenants/{id}/policy',
    operationId: 'setTenantPolicy',
    tags: ['tenants'],
    summary: 'Replace a tenant\'s policy',
    description:
      'The whole policy: a field left out takes its unrestricted value (no rate limit, no cap, any image, network allowed, the ' +
      'server\'s retention). Image names are stored normalized (`busybox` → `docker.io/library/busybox:latest`); a prefix pattern ' +
      '(`docker.io/library/python*`) must be written in the normalized form. Jobs already queued or running are not re-checked; ' +
      'the running cap and retention apply to them from now on.',
    middleware: [parseJsonBody] as const,
    request: { params, body: { required: true, content: { 'application/json': { schema: tenantPolicySchema } } } },
    responses: {
      200: { description: 'The policy as stored.', content: { 'application/json': { schema: tenantPolicyViewSchema } } },
      404: errorResponse('No such tenant (tenant_not_found).'),
      409: errorResponse('The local tenant\'s policy is the server\'s configuration (tenant_policy_configured): set WARMBOX_TENANT_* and restart.'),
      415: errorResponse('The body is not application/json.'),
      400: errorResponse('Malformed JSON, a field of the wrong shape, or a value below its minimum (a retention under a day): error.field names it.'),
      422: errorResponse('A value above its maximum (above_maximum), e.g. a memory cap above the server\'s maximum.'),
    },
  });
  app.openapi(put, async (c) => {
    const id = await tenantIdOr404(deps.db, c.req.valid('param').id);
    if (id === LOCAL_TENANT_ID) {
      throw new ApiError(409, 'tenant_policy_configured', 'the local tenant\'s policy is the server\'s configuration: set the WARMBOX_TENANT_* variables and restart the server', { tenant: id });
    }
    await tenantOr404(deps, id);
    const body = c.req.valid('json') as TenantPolicy;
    const policy: TenantPolicy = { ...body, images: body.images && body.images.map(normalizedPattern) };
    if (!(await setTenantPolicy(deps.db, id, policy))) throw notFound(id);
    return c.json(view(id, policy), 200);
  });
}

async function tenantOr404(deps: AppDeps, id: string) {
  const tenant = await tenantById(deps, id);
  if (tenant === undefined) throw notFound(id);
  return tenant;
}

function notFound(id: string): ApiError {
  return new ApiError(404, 'tenant_not_found', `no tenant ${JSON.stringify(id)}`, { tenant: id });
}

function view(id: string, policy: TenantPolicy) {
  return { tenant: id, policy, configured: id === LOCAL_TENANT_ID };
}
