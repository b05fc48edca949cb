/** GET /v1/pools (every worker's warm pools) and PUT /v1/pools/{image} (an image's bounds, on every worker). */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { PoolRegistry } from '../../queue/pool-registry.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { imageInDb, resolveImage } from '../image-lookup.js';
import { parseJsonBody } from '../middleware/json-body.js';
import { errorResponse } from '../schemas/error.js';
import { imageParamSchema, poolBoundsBodySchema, poolsViewSchema, storedPoolBoundsSchema } from '../schemas/pools.js';
import { readPoolsView, redisOr503 } from '../system-views.js';

export function registerPools(app: OpenAPIHono, deps: AppDeps): void {
  const registry = new PoolRegistry(deps.redis);
  const imageExists = deps.imageExists ?? imageInDb(deps);

  const list = createRoute({
    method: 'get',
    path: '/v1/pools',
    operationId: 'listPools',
    tags: ['pools'],
    summary: "Every worker's warm pools",
    description:
      'Per worker (as it published in the last second or so) and per image: parked sandboxes, the target the pool fills to, ' +
      'its bounds, claims (warm and cold) and rates; and the bounds set with PUT /v1/pools/{image}.',
    responses: {
      200: { description: 'The pools.', content: { 'application/json': { schema: poolsViewSchema } } },
      503: errorResponse('Redis is unavailable (redis_unavailable); retry after `Retry-After`.'),
    },
  });
  app.openapi(list, async (c) => c.json(await readPoolsView(deps, registry), 200));

  const set = createRoute({
    method: 'put',
    path: '/v1/pools/{image}',
    operationId: 'setPoolBounds',
    tags: ['pools'],
    summary: "Set an image's pool bounds on every worker",
    description:
      'Each worker keeps at least `min` sandboxes of the image parked, and never more than `max` (0: warm starts off, every job ' +
      'starts cold); between the two its policy follows the traffic. Stored in Redis: workers apply it at once and when they start.',
    middleware: [parseJsonBody] as const,
    request: {
      params: imageParamSchema,
      body: { required: true, content: { 'application/json': { schema: poolBoundsBodySchema } } },
    },
    responses: {
      200: { description: 'The bounds as stored.', content: { 'application/json': { schema: storedPoolBoundsSchema } } },
      400: errorResponse('Malformed JSON, or min/max not a whole number ≥ 0.'),
      404: errorResponse('The image is not in the store (image_not_found).'),
      422: errorResponse('max above the server maximum (above_maximum), or min above max (min_above_max).'),
      503: errorResponse('Redis is unavailable (redis_unavailable); retry after `Retry-After`.'),
    },
  });
  app.openapi(set, async (c) => {
    const { min, max } = c.req.valid('json');
    if (min > max) throw new ApiError(422, 'min_above_max', `min ${min} is above max ${max}`, { field: 'min', maximum: max });
    const image = await resolveImage(c.req.valid('param').image, imageExists);
    const stored = await redisOr503(deps, 'the pool registry', () => registry.setBounds(image, { min, max }));
    return c.json(stored, 200);
  });
}
