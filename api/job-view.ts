/** A db row as the API shows it: timestamps as ISO 8601, nothing of the request but labels. */
import type { JobRow } from '../db/schema.js';
import type { JobView } from './schemas/job-view.js';

export function toJobView(row: JobRow): JobView {
  return {
    id: row.id,
    tenantId: row.tenantId,
    status: row.status,
    image: row.image,
    digest: row.digest,
    createdAt: iso(row.createdAt),
    startedAt: row.startedAt === null ? null : iso(row.startedAt),
    finishedAt: row.finishedAt === null ? null : iso(row.finishedAt),
    labels: row.labels,
    result: row.result,
  };
}

const iso = (epochMs: number) => new Date(epochMs).toISOString();

export function jobLocation(id: string): string {
  return `/v1/jobs/${id}`;
}
