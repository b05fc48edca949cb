/** GET /v1/system/status: a running service at a glance (`warmbox status`, like `docker info`). */
import { z } from '@hono/zod-openapi';
import { queueViewSchema } from './queue.js';
import { readinessSchema } from './readiness.js';

const count = () => z.number().int().min(0);
const epochMs = (description: string) => z.number().int().openapi({ description: `${description}, milliseconds since the epoch.` });
const versionsSchema = z.object({ warmbox: z.string(), node: z.string(), kernel: z.string().openapi({ description: 'The kernel release (uname -r).' }) });

const workerSchema = z
  .object({
    id: z.string().openapi({ description: 'hostname-pid', example: 'worker-1-4242' }),
    hostname: z.string(),
    pid: z.number().int(),
    concurrency: count().openapi({ description: 'Jobs it runs at once.' }),
    runningJobs: count().nullable().openapi({ description: 'Jobs it runs now; null from a worker that does not publish it.' }),
    parked: count().openapi({ description: 'Sandboxes parked or being made in all its pools.' }),
    startedAt: epochMs('When it started'),
    lastHeartbeat: epochMs('When it last published its status (every second; it leaves the list 5 s after its last)'),
    versions: versionsSchema.extend({ cgroup: z.enum(['v1', 'v2']) }).nullable(),
  })
  .openapi('StatusWorker');

const poolSchema = z
  .object({
    image: z.string(),
    parked: count().openapi({ description: 'Parked sandboxes of the image, over every worker.' }),
    creating: count().openapi({ description: 'Being made, over every worker.' }),
    workers: count().openapi({ description: 'Workers that have a pool of it.' }),
  })
  .openapi('StatusPool');

export const systemStatusSchema = z
  .object({
    api: z.object({
      hostname: z.string(),
      pid: z.number().int(),
      startedAt: epochMs('When this API process started'),
      uptimeS: z.number().min(0).openapi({ description: 'Seconds since it started.' }),
      versions: versionsSchema,
    }),
    readiness: readinessSchema,
    workers: z.array(workerSchema).nullable().openapi({ description: 'From the pool registry in Redis; null while Redis is unavailable (readiness says why).' }),
    pools: z.array(poolSchema).nullable().openapi({ description: 'Parked sandboxes per image; null while Redis is unavailable.' }),
    queue: queueViewSchema.nullable().openapi({ description: 'The jobs queue; null while Redis is unavailable.' }),
  })
  .openapi('SystemStatus');
