/** Queries on the `jobs` table. State changes are guarded so that a late write cannot move a job back. */
import { and, desc, eq, inArray, lt, ne, or, sql } from 'drizzle-orm';
import type { JobPayload, JobResult } from '../contract/job-payload.js';
import { LOCAL_TENANT_ID } from '../contract/tenant.js';
import { changesOf, type Query, type WarmboxDb } from './database.js';
import { DbConflict } from './db-conflict.js';
import { DbWriteError, isDriverError } from './db-write-error.js';
import { prepared } from './prepared.js';
import type { JobRow, JobStatus } from './schema.js';
import { recordPendingDelivery } from './webhook-deliveries.js';

export { DbConflict } from './db-conflict.js';

export interface NewJob {
  id: string;
  /** Default the local tenant (contract/tenant.ts). */
  tenantId?: string;
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
export async function createJob(db: WarmboxDb, job: NewJob): Promise<JobRow> {
  return (await createJobs(db, [job]))[0]!;
}

/**
 * Inserts jobs with status `queued` in one transaction, all or none, and returns the rows as
 * stored, only once the commit has succeeded: better-sqlite3's `.get()` of `INSERT … RETURNING`
 * hands back the row even when the commit then fails (SQLITE_FULL, FACTS.md), so each insert's
 * change count is checked, the rows read back, and handed out only after the transaction's
 * commit returned. `alsoInTransaction` runs first, in the same transaction (the caller's checks,
 * an idempotency key's record): what it throws rolls the transaction back and comes out as it is,
 * but for the driver's errors. Throws DbWriteError when the write did not hold.
 */
export async function createJobs(db: WarmboxDb, batch: NewJob[], alsoInTransaction?: (tx: WarmboxDb) => Promise<void>): Promise<JobRow[]> {
  let stepFailure: unknown;
  try {
    return await db.transaction(async (tx) => {
      await alsoInTransaction?.(tx).catch((err: unknown) => {
        stepFailure = err;
        throw err;
      });
      return tx.query(async (q) => {
        // Prepared statements (building a query per job cost more than running it); the read sees the inserts.
        const { insert, get } = statements(tx, q);
        for (const job of batch) {
          const changes = changesOf(await insert.execute(insertValues(job)));
          if (changes !== 1) throw new Error(`inserting job ${job.id} changed ${changes} rows`);
        }
        const rows: JobRow[] = [];
        for (const job of batch) rows.push((await get.execute({ id: job.id }))[0]!);
        return rows;
      });
    });
  } catch (err) {
    if (err instanceof DbConflict || (err === stepFailure && !isDriverError(err))) throw err;
    throw DbWriteError.from(err);
  }
}

/**
 * The queries every job makes, prepared once per connection (db/prepared.ts): on SQLite the one
 * connection's, on Postgres the pool's (and each transaction's, once).
 */
function prepare({ t: { jobs } }: WarmboxDb, q: Query) {
  const id = sql.placeholder('id');
  // update().set() takes SQL, not bare placeholders; JSON columns are then bound as text.
  const param = (name: string) => sql`${sql.placeholder(name)}`;
  return {
    insert: prepared(
      q.insert(jobs).values({
        id,
        tenantId: sql.placeholder('tenantId'),
        status: 'queued',
        image: sql.placeholder('image'),
        request: sql.placeholder('request'),
        labels: sql.placeholder('labels'),
        webhookUrl: sql.placeholder('webhookUrl'),
        createdAt: sql.placeholder('createdAt'),
      }),
      'warmbox_job_insert',
    ),
    get: prepared(q.select().from(jobs).where(eq(jobs.id, id)), 'warmbox_job_get'),
    markRunning: prepared(
      q
        .update(jobs)
        .set({ status: 'running', startedAt: param('startedAt'), digest: param('digest') })
        .where(and(eq(jobs.id, id), eq(jobs.status, 'queued'))),
      'warmbox_job_mark_running',
    ),
    finish: prepared(
      q
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
        .returning({ webhookUrl: jobs.webhookUrl }),
      'warmbox_job_finish',
    ),
  };
}

function insertValues(job: NewJob) {
  return {
    id: job.id,
    tenantId: job.tenantId ?? LOCAL_TENANT_ID,
    image: job.image,
    request: job.request,
    labels: job.labels,
    webhookUrl: job.webhookUrl ?? null,
    createdAt: job.createdAt,
  };
}

const cache = new WeakMap<Query, ReturnType<typeof prepare>>();

function statements(db: WarmboxDb, q: Query): ReturnType<typeof prepare> {
  let s = cache.get(q);
  if (s === undefined) cache.set(q, (s = prepare(db, q)));
  return s;
}

export async function getJob(db: WarmboxDb, id: string): Promise<JobRow | undefined> {
  const row = await db.query(async (q) => (await statements(db, q).get.execute({ id }))[0]);
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
export function markRunning(db: WarmboxDb, id: string, startedAt: number, digest: string): Promise<boolean> {
  return db.query(async (q) => changesOf(await statements(db, q).markRunning.execute({ id, startedAt, digest })) === 1);
}

/**
 * Stores the result (queued or running → finished), its output as bytes beside it. Returns false
 * when the job is unknown or already finished.
 */
export async function finishJob(db: WarmboxDb, id: string, result: JobResult, finishedAt: number): Promise<boolean> {
  return (await recordResult(db, id, result, finishedAt)) !== undefined;
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
export function recordResult(db: WarmboxDb, id: string, result: JobResult, finishedAt: number): Promise<RecordedResult | undefined> {
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
  return db.transaction(async (tx) => {
    const row = await tx.query(async (q) => (await statements(tx, q).finish.execute(values))[0]);
    if (row === undefined) return undefined;
    const deliveryId = row.webhookUrl === null ? null : await recordPendingDelivery(tx, id, row.webhookUrl, finishedAt);
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
export function listUnfinishedJobs(db: WarmboxDb, queuedBefore: number, limit: number): Promise<UnfinishedJob[]> {
  const { jobs } = db.t;
  return db.query(
    async (q) =>
      (await q
        .select({ id: jobs.id, status: jobs.status, createdAt: jobs.createdAt })
        .from(jobs)
        .where(or(eq(jobs.status, 'running'), and(eq(jobs.status, 'queued'), lt(jobs.createdAt, queuedBefore))))
        .orderBy(jobs.id)
        .limit(limit)) as UnfinishedJob[],
  );
}

/** Removes a job that was never handed to a worker (its enqueue failed). */
export function deleteJob(db: WarmboxDb, id: string): Promise<boolean> {
  const { jobs } = db.t;
  return db.query(async (q) => changesOf(await q.delete(jobs).where(eq(jobs.id, id))) === 1);
}

/** Removes jobs that were never handed to a worker, all in one transaction; `alsoInTransaction` runs in it too. */
export function deleteJobs(db: WarmboxDb, ids: string[], alsoInTransaction?: (tx: WarmboxDb) => Promise<void>): Promise<number> {
  const { jobs } = db.t;
  return db.transaction(async (tx) => {
    await alsoInTransaction?.(tx);
    return ids.length === 0 ? 0 : tx.query(async (q) => changesOf(await q.delete(jobs).where(inArray(jobs.id, ids))));
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
export function listJobs(db: WarmboxDb, options: ListJobsOptions = {}): Promise<JobRow[]> {
  const { jobs } = db.t;
  const conditions = [
    options.status === undefined ? undefined : eq(jobs.status, options.status),
    options.beforeId === undefined ? undefined : lt(jobs.id, options.beforeId),
  ];
  return db.query(async (q) =>
    q
      .select()
      .from(jobs)
      .where(and(...conditions))
      .orderBy(desc(jobs.id))
      .limit(options.limit ?? 50),
  );
}
