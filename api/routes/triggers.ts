/**
 * /v1/triggers: job templates that webhooks start (POST /v1/hooks/{id}, routes/hooks.ts). Created,
 * listed, read with their last deliveries, enabled or disabled, deleted. The secret is answered
 * once, by the POST that made it; no other answer and no log line holds it.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { createTrigger, deleteTrigger, getTrigger, lastDeliveries, listTriggers, setTriggerEnabled } from '../../db/triggers.js';
import type { TriggerRow } from '../../db/schema.js';
import type { Context } from 'hono';
import type { AppDeps } from '../deps.js';
import { listedTenant, visibleTo } from '../tenant-scope.js';
import { ApiError } from '../errors.js';
import { ensureImage } from '../image-pull-on-use.js';
import { parseJsonBody } from '../middleware/json-body.js';
import { errorResponse } from '../schemas/error.js';
import { createdTriggerSchema, createTriggerSchema, patchTriggerSchema, triggerViewSchema } from '../schemas/trigger.js';
import { generateSecret, storedSecret } from '../trigger-verification.js';
import { newTriggerId, toTriggerView, TRIGGER_ID_PATTERN } from '../trigger-view.js';

export const triggerIdParams = z.object({
  id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: 'trg_5mQx1L0cS2xY9k2rWQ1t3A' }),
});

/** The trigger, when the caller may see it (api/tenant-scope.ts): another tenant's is as unknown. */
async function findTriggerOr404(deps: AppDeps, c: Context, id: string): Promise<TriggerRow> {
  const row = TRIGGER_ID_PATTERN.test(id) ? await getTrigger(deps.db, id) : undefined;
  if (row === undefined || !visibleTo(c, row.tenantId)) throw new ApiError(404, 'trigger_not_found', `no trigger ${JSON.stringify(id)}`);
  return row;
}

export function registerTriggers(app: OpenAPIHono, deps: AppDeps): void {
  registerCreate(app, deps);
  registerList(app, deps);
  registerGet(app, deps);
  registerPatch(app, deps);
  registerDelete(app, deps);
}

function registerCreate(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'post',
    path: '/v1/triggers',
    operationId: 'createTrigger',
    tags: ['triggers'],
    summary: 'Make a trigger: a job that a webhook starts',
    description:
      'Stores the job template (validated as a job request is; its image is pulled now if it is not in the store, so that ' +
      'deliveries start at once), the verification and its secret, and the headers to pass on. The answer holds the secret: ' +
      'the only time warmbox shows it.',
    middleware: [parseJsonBody] as const,
    request: { body: { required: true, content: { 'application/json': { schema: createTriggerSchema } } } },
    responses: {
      201: {
        description: 'Made. `secret` is in this answer only.',
        headers: { Location: { schema: { type: 'string' }, description: '/v1/triggers/{id}' } },
        content: { 'application/json': { schema: createdTriggerSchema } },
      },
      404: errorResponse('The template\'s image is not in the store and its registry has no such image (image_not_found).'),
      422: errorResponse('A value beyond a server bound (the same bounds as a job request, and maxBodyBytes).'),
      502: errorResponse('The registry answered something unusable while pulling the image (registry_error).'),
      503: errorResponse('The image\'s registry cannot be reached, or the database cannot take writes: nothing was recorded.'),
    },
  });
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const { reference } = await ensureImage(deps, body.job.image, c.req.raw.signal);
    const secret = body.secret ?? generateSecret();
    const row: TriggerRow = {
      id: newTriggerId(),
      tenantId: c.get('tenant').id,
      name: body.name ?? null,
      template: { ...body.job, image: reference },
      verification: body.verification,
      secret: storedSecret(body.verification, secret),
      passHeaders: body.passHeaders,
      maxBodyBytes: body.maxBodyBytes,
      enabled: body.enabled,
      createdAt: Date.now(),
    };
    await createTrigger(deps.db, row);
    c.header('Location', `/v1/triggers/${row.id}`);
    return c.json({ ...toTriggerView(row), secret }, 201);
  });
}

function registerList(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'get',
    path: '/v1/triggers',
    operationId: 'listTriggers',
    tags: ['triggers'],
    summary: 'The triggers, oldest first (no secrets)',
    description: "The caller's tenant's triggers; an admin key's listing has every tenant's, or one tenant's with `tenant`.",
    request: { query: z.object({ tenant: z.string().min(1).max(64).optional().openapi({ description: 'Only this tenant\'s triggers (an id or a name).' }) }) },
    responses: {
      200: { description: 'The triggers.', content: { 'application/json': { schema: z.object({ triggers: z.array(triggerViewSchema) }) } } },
      403: errorResponse('`tenant` names another tenant and the key is not an admin key (forbidden).'),
      404: errorResponse('`tenant` names no tenant (tenant_not_found).'),
    },
  });
  app.openapi(route, async (c) => {
    const tenantId = await listedTenant(deps, c, c.req.valid('query').tenant);
    return c.json({ triggers: (await listTriggers(deps.db, tenantId)).map((row) => toTriggerView(row)) }, 200);
  });
}

function registerGet(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'get',
    path: '/v1/triggers/{id}',
    operationId: 'getTrigger',
    tags: ['triggers'],
    summary: 'A trigger and its last deliveries (no secret)',
    request: { params: triggerIdParams },
    responses: {
      200: { description: 'The trigger, with `deliveries`, newest first.', content: { 'application/json': { schema: triggerViewSchema } } },
      404: errorResponse('No such trigger (trigger_not_found).'),
    },
  });
  app.openapi(route, async (c) => {
    const row = await findTriggerOr404(deps, c, c.req.valid('param').id);
    return c.json(toTriggerView(row, await lastDeliveries(deps.db, row.id)), 200);
  });
}

function registerPatch(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'patch',
    path: '/v1/triggers/{id}',
    operationId: 'updateTrigger',
    tags: ['triggers'],
    summary: 'Enable or disable a trigger',
    description: 'A disabled trigger answers deliveries with 404, as an unknown one does, and runs nothing.',
    middleware: [parseJsonBody] as const,
    request: { params: triggerIdParams, body: { required: true, content: { 'application/json': { schema: patchTriggerSchema } } } },
    responses: {
      200: { description: 'The trigger as it is now.', content: { 'application/json': { schema: triggerViewSchema } } },
      404: errorResponse('No such trigger (trigger_not_found).'),
    },
  });
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    await findTriggerOr404(deps, c, id);
    await setTriggerEnabled(deps.db, id, c.req.valid('json').enabled);
    return c.json(toTriggerView(await findTriggerOr404(deps, c, id)), 200);
  });
}

function registerDelete(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'delete',
    path: '/v1/triggers/{id}',
    operationId: 'deleteTrigger',
    tags: ['triggers'],
    summary: 'Delete a trigger and its record of deliveries',
    description: 'Jobs it started are kept.',
    request: { params: triggerIdParams },
    responses: {
      204: { description: 'Deleted.' },
      404: errorResponse('No such trigger (trigger_not_found).'),
    },
  });
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    await findTriggerOr404(deps, c, id);
    if (!(await deleteTrigger(deps.db, id))) throw new ApiError(404, 'trigger_not_found', `no trigger ${JSON.stringify(id)}`);
    return c.body(null, 204);
  });
}
