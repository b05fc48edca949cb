/** The error body every failing response has (api/errors.ts builds it). */
import { z } from '@hono/zod-openapi';

export const errorSchema = z
  .object({
    error: z
      .object({
        code: z.string().openapi({ example: 'above_maximum' }),
        message: z.string().openapi({ example: 'limits.memoryBytes is above the maximum 4294967296' }),
        field: z.string().optional().openapi({ description: 'The request field at fault, e.g. limits.memoryBytes.' }),
        maximum: z.number().optional(),
        minimum: z.number().optional(),
      })
      .catchall(z.unknown()),
  })
  .openapi('Error');

export function errorResponse(description: string) {
  return { description, content: { 'application/json': { schema: errorSchema } } };
}
