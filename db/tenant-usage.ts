/** What a tenant holds now, for its quotas (README "Quotas"): read on the index jobs_tenant_status_idx. */
import { and, count, eq } from 'drizzle-orm';
import type { WarmboxDb } from './database.js';

/** Jobs of the tenant waiting for a worker (status `queued`). */
export async function countQueuedJobs(db: WarmboxDb, tenantId: string): Promise<number> {
  const { jobs } = db.t;
  const rows = await db.query(async (q) => q.select({ n: count() }).from(jobs).where(and(eq(jobs.tenantId, tenantId), eq(jobs.status, 'queued'))));
  return rows[0]?.n ?? 0;
}
