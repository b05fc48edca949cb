/**
 * Judge runs (db/schema.ts judgeRuns): recorded at the request with what they were asked to do,
 * rewritten as each step ends by the one process that holds the run's lease (api/judge-run-lease.ts),
 * and finished together with their webhook deliveries.
 */
import { and, asc, eq, inArray, isNull, lt, ne, or } from 'drizzle-orm';
import type { JudgeRunInput, JudgeRunView } from '../contract/judge.js';
import { changesOf, first, type WarmboxDb } from './database.js';
import type { JudgeRunRow } from './schema.js';

export interface NewJudgeRun {
  tenantId: string;
  view: JudgeRunView;
  input: JudgeRunInput;
  webhookUrl?: string;
  createdAt: number;
  owner: string;
  leaseUntil: number;
}

export async function insertJudgeRun(db: WarmboxDb, run: NewJudgeRun): Promise<void> {
  const { judgeRuns } = db.t;
  const { view, ...rest } = run;
  await db.query(async (q) => q.insert(judgeRuns).values({ id: view.id, status: view.status, view, ...rest, webhookUrl: run.webhookUrl ?? null }));
}

/** Rewrites the run's view, only while `owner` holds it; false: another process took it over (or it is finished). */
export function saveJudgeRun(db: WarmboxDb, view: JudgeRunView, owner: string): Promise<boolean> {
  const { judgeRuns } = db.t;
  return db.query(
    async (q) =>
      changesOf(
        await q
          .update(judgeRuns)
          .set({ status: view.status, view })
          .where(and(eq(judgeRuns.id, view.id), eq(judgeRuns.owner, owner), ne(judgeRuns.status, 'finished'))),
      ) === 1,
  );
}

/** A delivery recorded with the finished run: its id, event, target and the body sent. */
export interface RunDelivery {
  id: string;
  event: string;
  url: string;
  body: string;
}

/**
 * Records the finished run and its deliveries in one transaction, only while `owner` holds it:
 * a finished run always has its deliveries, and a run is finished once. False: not the owner's.
 */
export function finishJudgeRun(db: WarmboxDb, view: JudgeRunView, owner: string, finishedAt: number, deliveries: RunDelivery[]): Promise<boolean> {
  const { judgeRuns, webhookDeliveries } = db.t;
  return db.transaction((tx) =>
    tx.query(async (q) => {
      const changes = changesOf(
        await q
          .update(judgeRuns)
          .set({ status: 'finished', view, finishedAt })
          .where(and(eq(judgeRuns.id, view.id), eq(judgeRuns.owner, owner), ne(judgeRuns.status, 'finished'))),
      );
      if (changes !== 1) return false;
      for (const d of deliveries) {
        await q
          .insert(webhookDeliveries)
          .values({ ...d, judgeRunId: view.id, state: 'pending', attempts: 0, createdAt: finishedAt, updatedAt: finishedAt })
          .onConflictDoNothing();
      }
      return true;
    }),
  );
}

/** The run, when it is the tenant's. */
export function getJudgeRun(db: WarmboxDb, id: string, tenantId: string): Promise<JudgeRunRow | undefined> {
  const { judgeRuns } = db.t;
  return db.query(async (q) => first(await q.select().from(judgeRuns).where(and(eq(judgeRuns.id, id), eq(judgeRuns.tenantId, tenantId))).limit(1)));
}

export function getJudgeRunById(db: WarmboxDb, id: string): Promise<JudgeRunRow | undefined> {
  const { judgeRuns } = db.t;
  return db.query(async (q) => first(await q.select().from(judgeRuns).where(eq(judgeRuns.id, id)).limit(1)));
}

/** Extends the lease of the unfinished runs among `ids` that `owner` holds; returns how many. */
export async function renewJudgeRunLeases(db: WarmboxDb, owner: string, ids: string[], leaseUntil: number): Promise<number> {
  if (ids.length === 0) return 0;
  const { judgeRuns } = db.t;
  return db.query(async (q) =>
    changesOf(
      await q
        .update(judgeRuns)
        .set({ leaseUntil })
        .where(and(inArray(judgeRuns.id, ids), eq(judgeRuns.owner, owner), ne(judgeRuns.status, 'finished'))),
    ),
  );
}

/** Lets go of `owner`'s unfinished runs (a stopping process): the next sweep of any process takes them over. */
export function releaseJudgeRunLeases(db: WarmboxDb, owner: string): Promise<number> {
  const { judgeRuns } = db.t;
  return db.query(async (q) =>
    changesOf(
      await q
        .update(judgeRuns)
        .set({ leaseUntil: 0 })
        .where(and(eq(judgeRuns.owner, owner), ne(judgeRuns.status, 'finished'))),
    ),
  );
}

/** Unfinished runs whose lease ran out (or that never had one): their owner is gone. Oldest first. */
export async function orphanedJudgeRuns(db: WarmboxDb, now: number, limit: number): Promise<string[]> {
  const { judgeRuns } = db.t;
  const rows = await db.query(async (q) =>
    q
      .select({ id: judgeRuns.id })
      .from(judgeRuns)
      .where(and(ne(judgeRuns.status, 'finished'), or(isNull(judgeRuns.leaseUntil), lt(judgeRuns.leaseUntil, now))))
      .orderBy(asc(judgeRuns.createdAt))
      .limit(limit),
  );
  return rows.map((r) => r.id);
}

/**
 * Takes an orphaned run over for `owner`, in one guarded write: of several processes that try at
 * once, exactly one wins. Returns the run as it stands, or undefined when another took it.
 */
export async function takeOverJudgeRun(db: WarmboxDb, id: string, owner: string, now: number, leaseUntil: number): Promise<JudgeRunRow | undefined> {
  const { judgeRuns } = db.t;
  const changes = await db.query(async (q) =>
    changesOf(
      await q
        .update(judgeRuns)
        .set({ owner, leaseUntil })
        .where(and(eq(judgeRuns.id, id), ne(judgeRuns.status, 'finished'), or(isNull(judgeRuns.leaseUntil), lt(judgeRuns.leaseUntil, now)))),
    ),
  );
  return changes === 1 ? getJudgeRunById(db, id) : undefined;
}
