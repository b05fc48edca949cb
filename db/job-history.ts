/**
 * The jobs as a history (GET /v1/jobs): newest first, filtered, paged by keyset on
 * (created_at, id). A page after a cursor is "rows strictly older than the last one shown", so
 * jobs recorded meanwhile (all newer) never shift a later page: no row is shown twice or skipped.
 * Each filter is one more condition in a list; a tenant's own listing is one of them.
 */
import { and, desc, eq, gte, inArray, lt, sql, type SQL } from 'drizzle-orm';
import type { Verdict } from '../contract/verdict.js';
import type { Query, Tables, WarmboxDb } from './database.js';
import { jsonFieldEquals } from './dialect-sql.js';
import type { JobRow, JobStatus } from './schema.js';

/** The last row of a page: the next page starts strictly below it. */
export interface HistoryCursor {
  createdAt: number;
  id: string;
}

export interface JobHistoryQuery {
  /** One tenant's jobs; absent: every tenant's. */
  tenantId?: string;
  status?: JobStatus[];
  /** Normalized references. */
  image?: string;
  verdict?: Verdict[];
  /** Every pair must be among the job's labels. */
  labels?: Record<string, string>;
  /** createdAt >= since (epoch ms). */
  since?: number;
  /** createdAt < until (epoch ms). */
  until?: number;
  after?: HistoryCursor;
  limit: number;
}

/** What a listing shows of a job: no request, no output. */
export type JobSummaryRow = Pick<JobRow, 'id' | 'tenantId' | 'status' | 'image' | 'verdict' | 'exitCode' | 'createdAt' | 'startedAt' | 'finishedAt' | 'labels'>;

function summaryColumns({ jobs }: Tables) {
  return {
    id: jobs.id,
    tenantId: jobs.tenantId,
    status: jobs.status,
    image: jobs.image,
    verdict: jobs.verdict,
    exitCode: jobs.exitCode,
    createdAt: jobs.createdAt,
    startedAt: jobs.startedAt,
    finishedAt: jobs.finishedAt,
    labels: jobs.labels,
  };
}

/** The conditions of a query, for the listing and for the query plans in tests. */
export function historyConditions(db: WarmboxDb, q: Omit<JobHistoryQuery, 'limit'>): SQL | undefined {
  const { jobs } = db.t;
  return and(
    q.tenantId === undefined ? undefined : eq(jobs.tenantId, q.tenantId),
    q.status?.length ? (q.status.length === 1 ? eq(jobs.status, q.status[0]!) : inArray(jobs.status, q.status)) : undefined,
    q.image === undefined ? undefined : eq(jobs.image, q.image),
    q.verdict?.length ? (q.verdict.length === 1 ? eq(jobs.verdict, q.verdict[0]!) : inArray(jobs.verdict, q.verdict)) : undefined,
    // Labels are a JSON object per job; a label filter checks the rows the indexed conditions leave.
    ...Object.entries(q.labels ?? {}).map(([k, v]) => jsonFieldEquals(db, jobs.labels, k, v)),
    q.since === undefined ? undefined : gte(jobs.createdAt, q.since),
    q.until === undefined ? undefined : lt(jobs.createdAt, q.until),
    // A row value: SQLite takes it as one range on the index's (created_at, id) tail.
    q.after === undefined ? undefined : sql`(${jobs.createdAt}, ${jobs.id}) < (${q.after.createdAt}, ${q.after.id})`,
  );
}

export function historyQuery(db: WarmboxDb, q: Query, query: JobHistoryQuery) {
  const { jobs } = db.t;
  return q
    .select(summaryColumns(db.t))
    .from(jobs)
    .where(historyConditions(db, query))
    .orderBy(desc(jobs.createdAt), desc(jobs.id))
    .limit(query.limit);
}

/** One page, newest first; `next` is set when more rows may follow. */
export async function listJobHistory(db: WarmboxDb, query: JobHistoryQuery): Promise<{ jobs: JobSummaryRow[]; next?: HistoryCursor }> {
  // One row more than asked tells whether another page exists without a count.
  const rows = await db.query(async (q) => historyQuery(db, q, { ...query, limit: query.limit + 1 }));
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return rows.length > query.limit && last ? { jobs: page, next: { createdAt: last.createdAt, id: last.id } } : { jobs: page };
}
