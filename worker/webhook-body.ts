/**
 * What a `job.finished` delivery POSTs: the event, the delivery's id, and the job exactly as
 * GET /v1/jobs/{id} shows it (test/e2e/webhooks.test.ts compares the two).
 */
import type { DeliveryRow, JobRow } from '../db/schema.js';

export function webhookBody(delivery: DeliveryRow, job: JobRow): string {
  return JSON.stringify({
    type: delivery.event,
    deliveryId: delivery.id,
    job: {
      id: job.id,
      tenantId: job.tenantId,
      status: job.status,
      image: job.image,
      digest: job.digest,
      createdAt: iso(job.createdAt),
      startedAt: job.startedAt === null ? null : iso(job.startedAt),
      finishedAt: job.finishedAt === null ? null : iso(job.finishedAt),
      labels: job.labels,
      result: job.result,
    },
  });
}

const iso = (epochMs: number) => new Date(epochMs).toISOString();
