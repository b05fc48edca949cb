/** Queries on the `jobs` table. State changes are guarded so that a late write cannot move a job back. */
import { and, desc, eq, lt, ne } from 'drizzle-orm';
import type { JobPayload, JobResult } from '../worker/job-payload.js';
import type { WarmboxDb } from './client.js';
import { jobs, type JobRow, type JobStatus } from './schema.js';

export interface NewJob {
  id: string;
  image: string;
  request: JobPayload;
  labels: Record<string, string>;
  webhookUrl?: string | null;
  createdAt: number;
}

/** Inserts the job with status `queued`; returns the row as stored. */
export function createJob(db: WarmboxDb, job: NewJob): JobRow {
  return db
    .insert(jobs)
    .values({ ...job, webhookUrl: job.webhookUrl ?? null, status: 'queued' })
    .returning()
    .get();
}

export function getJob(db: WarmboxDb, id: string): JobRow | undefined {
  return db.select().from(jobs).where(eq(jobs.id, id)).get();
}

/** queued → running. Returns false when the job is unknown or no longer queued. */
export function markRunning(db: WarmboxDb, id: string, startedAt: number, digest: string): boolean {
  const res = db
    .update(jobs)
    .set({ status: 'running', startedAt, digest })
    .where(and(eq(jobs.id, id), eq(jobs.status, 'queued')))
    .run();
  return res.changes === 1;
}

/** Stores the result (queued or running → finished). Returns false when the job is unknown or already finished. */
export function finishJob(db: WarmboxDb, id: string, result: JobResult, finishedAt: number): boolean {
  const res = db
    .update(jobs)
    .set({ status: 'finished', result, verdict: result.verdict, exitCode: result.exitCode, finishedAt })
    .where(and(eq(jobs.id, id), ne(jobs.status, 'finished')))
    .run();
  return res.changes === 1;
}

/** Removes a job that was never handed to a worker (its enqueue failed). */
export function deleteJob(db: WarmboxDb, id: string): boolean {
  return db.delete(jobs).where(eq(jobs.id, id)).run().changes === 1;
}

export interface ListJobsOptions {
  /** At most this many rows (default 50). */
  limit?: number;
  status?: JobStatus;
  /** Only jobs whose id sorts before this one: job ids sort by creation time, so this pages back in time. */
  beforeId?: string;
}

/** Newest first. */
export function listJobs(db: WarmboxDb, options: ListJobsOptions = {}): JobRow[] {
  const conditions = [
    options.status === undefined ? undefined : eq(jobs.status, options.status),
    options.beforeId === undefined ? undefined : lt(jobs.id, options.beforeId),
  ];
  return db
    .select()
    .from(jobs)
    .where(and(...conditions))
    .orderBy(desc(jobs.id))
    .limit(options.limit ?? 50)
    .all();
}
