/** What GET /v1/jobs/{id}/deliveries (and GET /v1/judge/{id}/deliveries) returns: the webhook deliveries and each attempt. */
import { z } from '@hono/zod-openapi';
import { DELIVERY_STATES } from '../../db/schema.js';

const timestamp = () => z.iso.datetime().openapi({ example: '2025-01-01T12:00:00.000Z' });

export const deliveryAttemptSchema = z
  .object({
    attempt: z.number().int().min(1).openapi({ description: '1 for the first attempt.' }),
    at: timestamp().openapi({ description: 'When the attempt started.' }),
    statusCode: z.number().int().nullable().openapi({ description: "The receiver's HTTP status; null when no response came.", example: 200 }),
    latencyMs: z.number().int().min(0).openapi({ description: 'From the start of the attempt to the response (or the failure).' }),
    error: z
      .string()
      .nullable()
      .openapi({ description: 'Why the attempt failed (a status, a timeout, a refused address, a redirect not followed); null when it succeeded.' }),
  })
  .openapi('DeliveryAttempt');

export const deliverySchema = z
  .object({
    id: z.string().openapi({ description: 'Sent as Warmbox-Delivery on every attempt.', example: 'whd_01JD3Z8Q8V6W7X9Y0Z1A2B3C4D' }),
    event: z.string().openapi({ example: 'job.finished' }),
    url: z.string(),
    state: z.enum(DELIVERY_STATES).openapi({
      description: 'pending: queued or waiting for its next attempt; delivered: the receiver answered 2xx; dead: the last attempt failed, or the address is refused.',
    }),
    createdAt: timestamp(),
    updatedAt: timestamp().openapi({ description: 'The end of the last attempt (or the creation).' }),
    attempts: z.array(deliveryAttemptSchema),
  })
  .openapi('Delivery');

export const deliveriesSchema = z.object({ deliveries: z.array(deliverySchema) }).openapi('Deliveries');
export type DeliveriesView = z.infer<typeof deliveriesSchema>;
