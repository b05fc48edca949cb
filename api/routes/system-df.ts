/** GET /v1/system/df: the disk usage of every worker's snapshot store (like `docker system df`). */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../deps.js';
import { errorResponse } from '../schemas/error.js';
import { readStoreUsageView } from '../system-views.js';

const imageUsage = z.object({
  reference: z.string(),
  digest: z.string(),
  unpackedBytes: z.number().int().openapi({ description: 'Its size as GET /v1/images shows it: its layers uncompressed' }),
  diskBytes: z.number().int().openapi({ description: 'What it takes on disk: its blobs as stored (compressed) plus its unpacked layers, shared parts included' }),
  uniqueBytes: z.number().int().openapi({ description: 'The part of diskBytes no other image shares: what removing it would free' }),
});

const storeUsage = z.object({
  workerId: z.string(),
  measuredAt: z.number().int().openapi({ description: 'Epoch milliseconds' }),
  total: z.number().int().openapi({ description: 'Bytes on disk of every blob and unpacked layer of the store, referenced or not' }),
  images: z.array(imageUsage),
});

export const systemDfSchema = z.object({ stores: z.array(storeUsage) }).openapi('SystemDiskUsage');

export function registerSystemDf(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'get',
    path: '/v1/system/df',
    operationId: 'getSystemDiskUsage',
    tags: ['images'],
    summary: "Disk usage of each worker's snapshot store",
    description: 'Each worker measures its own store (every 30 s, and after each image operation) and publishes it; a worker that stopped drops out.',
    responses: {
      200: { description: 'Per worker: the store total and each image.', content: { 'application/json': { schema: systemDfSchema } } },
      503: errorResponse('Redis is unavailable (redis_unavailable); retry after `Retry-After`.'),
    },
  });
  app.openapi(route, async (c) => c.json({ stores: await readStoreUsageView(deps) }, 200));
}
