/** GET /v1/queue's answer, also part of GET /v1/system/status. */
import { z } from '@hono/zod-openapi';

const count = (description: string) => z.number().int().min(0).openapi({ description });

export const queueViewSchema = z
  .object({
    queued: count('Jobs no worker has taken yet.'),
    running: count('Jobs a worker has taken and not finished.'),
    oldestQueuedAgeMs: z.number().min(0).nullable().openapi({ description: 'How long the job that has waited longest for a worker has waited, milliseconds; null when none waits.' }),
  })
  .openapi('QueueCounts');
