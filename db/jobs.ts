/** Queries on the `jobs` table. State changes are guarded so that a late write cannot move a job back. */
import { and, desc, eq, inArray, lt, ne, or, sql } from 'drizzle-orm';
import type { JobPayload, JobResult } from '../contract/job-payload.js';
import type { WarmboxDb } from './client.js';
import { DbWriteError } from './db-write-error.js';
import { jobs, type JobRow, type JobStatus } from './schema.js';
import { recordPendingDelivery } from './webhook-deliveries.js';

export interface NewJob {
  id: string;
  image: string;
  request: JobPayload;
  labels: Record<string, string>;
  webhookUrl?: string | null;
  createdAt: number;
}

/**
 * Inserts the job with status `queued` and returns the row as stored, only once the commit has
 * succeeded (see createJobs). Throws DbWriteError when the write did not hold.
 */
export function createJob(db: WarmboxDb, job: NewJob): JobRow {
  return createJobs(db, [job])[0]!;
}

/**
 * Inserts jobs with status `queued` in one transaction, all or none, and returns the rows as
 * stored, only once the commit has succeeded: better-sqlite3's `.get()` of `INSERT … RETURNING`
 * hands back the row even when the commit then fails (SQLITE_FULL, FACTS.md), so each insert is
 * `.run()`, its change count checked, and the rows read back. `alsoInTransaction` runs first, in the
 * same transaction (an idempotency key's record). Throws DbWriteError when the write did not hold.
 */
export function createJobs(db: WarmboxDb, batch: NewJob[], alsoInTransaction?: (tx: WarmboxDb) => void): JobRow[] {
  try {
    return db.transaction((tx) => {
      alsoInTransaction?.(tx as unknown as WarmboxDb);
      for (const job of batch) {
        const { changes } = tx.insert(jobs).values({ ...job, webhookUrl: job.webhookUrl ?? null, status: 'queued' }).run();
        if (changes !== 1) throw new Error(`inserting job ${job.id} changed ${changes} rows`);
      }
      // The prepared read (one transaction, one connection: it sees the inserts); building a query per job cost more than running it.
      return batch.map((job) => prepared(db).get.get({ id: job.id })!);
    });
  } catch (err) {
    if (err instanceof DbConflict) throw err;
    throw DbWriteError.from(err);
  }
}

/** Thrown inside a transaction by a caller's step to roll it back with a reason that is not a failed write. */
export class DbConflict extends Error {
  override name = 'DbConflict';
}

/**
 * The queries every job makes, prepared once per database: building and preparing a statement
 * per call cost more than running it (a CPU profile at 160 jobs/s showed ~8% in drizzle and
 * better-sqlite3's prepare).
 */
function prepare(db: WarmboxDb) {
  const id = sql.placeholder('id');
  // update().set() takes SQL, not bare placeholders; JSON columns are then bound as text.
  const param = (name: string) => sql`${sql.placeholder(name)}`;
  return {
    get: db.select().from(jobs).where(eq(jobs.id, id)).prepare(),
    markRunning: db
      .update(jobs)
      .set({ status: 'running', startedAt: param('startedAt'), digest: param('digest') })
      .where(and(eq(jobs.id, id), eq(jobs.status, 'queued')))
      .prepare(),
    finish: db
      .update(jobs)
      .set({
        status: 'finished',
        result: param('result'),
        stdout: param('stdout'),
        stderr: param('stderr'),
        verdict: param('verdict'),
        exitCode: param('exitCode'),
        finishedAt: param('finishedAt'),
      })
      .where(and(eq(jobs.id, id), ne(jobs.status, 'finished')))
      .returning({ webhookUrl: jobs.webhookUrl })
      .prepare(),
  };
}

const statements = new WeakMap<WarmboxDb, ReturnType<typeof prepare>>();

function prepared(db: WarmboxDb): ReturnType<typeof prepare> {
  let s = statements.get(db);
  if (s === undefined) statements.set(db, (s = prepare(db)));
  return s;
}

export function getJob(db: WarmboxDb, id: string): JobRow | undefined {
  const row = prepared(db).get.get({ id });
  return row && withOutput(row);
}

/** The row with its output put back into its result, as the text the result's encodings say. */
function withOutput(row: JobRow): JobRow {
  if (row.result === null || row.stdout === null || row.stderr === null) return row;
  const stdout = row.stdout.toString(row.result.stdoutEncoding ?? 'utf8');
  const stderr = row.stderr.toString(row.result.stderrEncoding ?? 'utf8');
  return { ...row, result: { ...row.result, stdout, stderr } };
}

/** queued → running. Returns false when the job is unknown or no longer queued. */
export function markRunning(db: WarmboxDb, id: string, startedAt: number, digest: string): boolean {
  return prepared(db).markRunning.run({ id, startedAt, digest }).changes === 1;
}

/**
 * Stores the result (queued or running → finished), its output as bytes beside it. Returns false
 * when the job is unknown or already finished.
 */
export function finishJob(db: WarmboxDb, id: string, result: JobResult, finishedAt: number): boolean {
  return recordResult(db, id, result, finishedAt) !== undefined;
}

/** A result just stored, and the webhook delivery stored with it (null: the job has no webhook). */
export interface RecordedResult {
  deliveryId: string | null;
}

/**
 * finishJob, telling whether a webhook delivery was recorded: the result (its output as bytes
 * beside it) and the job's pending delivery are written in one transaction, so that no crash can
 * leave a result without its delivery (the delivery is queued after; worker/webhook-sweep.ts
 * queues those that never were). Undefined when the job is unknown or already finished.
 */
export function recordResult(db: WarmboxDb, id: string, result: JobResult, finishedAt: number): RecordedResult | undefined {
  const { stdout, stderr, ...rest } = result;
  const values = {
    id,
    result: JSON.stringify(rest),
    stdout: Buffer.from(stdout, result.stdoutEncoding ?? 'utf8'),
    stderr: Buffer.from(stderr, result.stderrEncoding ?? 'utf8'),
    verdict: result.verdict,
    exitCode: result.exitCode,
    finishedAt,
  };
  return db.transaction(() => {
    const row = prepared(db).finish.get(values);
    if (row === undefined) return undefined;
    const deliveryId = row.webhookUrl === null ? null : recordPendingDelivery(db, id, row.webhookUrl, finishedAt);
    return { deliveryId };
  });
}

export interface UnfinishedJob {
  id: string;
  status: 'queued' | 'running';
  createdAt: number;
}

/**
 * What a reconcile sweep checks against the queue: every `running` job, and the `queued` ones
 * created before `queuedBefore` (younger ones may be between their insert and their enqueue).
 * Oldest first, at most `limit`.
 */
export function listUnfinishedJobs(db: WarmboxDb, queuedBefore: number, limit: number): UnfinishedJob[] {
  return db
    .select({ id: jobs.id, status: jobs.status, createdAt: jobs.createdAt })
    .from(jobs)
    .where(or(eq(jobs.status, 'running'), and(eq(jobs.status, 'queued'), lt(jobs.createdAt, queuedBefore))))
    .orderBy(jobs.id)
    .limit(limit)
    .all() as UnfinishedJob[];
}

/** Removes a job that was never handed to a worker (its enqueue failed). */
export function deleteJob(db: WarmboxDb, id: string): boolean {
  return db.delete(jobs).where(eq(jobs.id, id)).run().changes === 1;
}

/** Removes jobs that were never handed to a worker, all in one transaction; `alsoInTransaction` runs in it too. */
export function deleteJobs(db: WarmboxDb, ids: string[], alsoInTransaction?: (tx: WarmboxDb) => void): number {
  return db.transaction((tx) => {
    alsoInTransaction?.(tx as unknown as WarmboxDb);
    return ids.length === 0 ? 0 : tx.delete(jobs).where(inArray(jobs.id, ids)).run().changes;
  });
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
