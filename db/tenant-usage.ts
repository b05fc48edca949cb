/** What a tenant holds now, for its quotas (README "Quotas"): read on the index jobs_tenant_status_idx. */
import { and, count, eq } from 'drizzle-orm';
import type { WarmboxDb } from './client.js';
import { jobs } from './schema.js';

/** Jobs of the tenant waiting for a worker (status `queued`). */
export function countQueuedJobs(db: WarmboxDb, tenantId: string): number {
  return db.select({ n: count() }).from(jobs).where(and(eq(jobs.tenantId, tenantId), eq(jobs.status, 'queued'))).get()?.n ?? 0;
}
