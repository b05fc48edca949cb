/** GET /readyz's answer, also part of GET /v1/system/status. */
import { z } from '@hono/zod-openapi';

export const checkResultSchema = z
  .object({
    name: z.string().openapi({ description: 'redis, db; and, where a worker runs in this process, launcher and cgroups.', example: 'redis' }),
    ok: z.boolean(),
    error: z.string().optional().openapi({ description: 'Why it failed.' }),
    ms: z.number().min(0).openapi({ description: 'How long the check took, milliseconds.' }),
  })
  .openapi('ReadinessCheck');

export const readinessSchema = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    checks: z.array(checkResultSchema),
  })
  .openapi('Readiness');
