/**
 * Judge runs (db/schema.ts judgeRuns): recorded at the request with what they were asked to do,
 * rewritten as each step ends by the one process that holds the run's lease (api/judge-run-lease.ts),
 * and finished together with their webhook deliveries.
 */
import { and, asc, eq, inArray, isNull, lt, ne, or } from 'drizzle-orm';
import type { JudgeRunInput, JudgeRunView } from '../contract/judge.js';
import type { WarmboxDb } from './client.js';
import { judgeRuns, webhookDeliveries, type JudgeRunRow } from './schema.js';

export interface NewJudgeRun {
  tenantId: string;
  view: JudgeRunView;
  input: JudgeRunInput;
  webhookUrl?: string;
  createdAt: number;
  owner: string;
  leaseUntil: number;
}

export function insertJudgeRun(db: WarmboxDb, run: NewJudgeRun): void {
  const { view, ...rest } = run;
  db.insert(judgeRuns)
    .values({ id: view.id, status: view.status, view, ...rest, webhookUrl: run.webhookUrl ?? null })
    .run();
}

/** Rewrites the run's view, only while `owner` holds it; false: another process took it over (or it is finished). */
export function saveJudgeRun(db: WarmboxDb, view: JudgeRunView, owner: string): boolean {
  return db
    .update(judgeRuns)
    .set({ status: view.status, view })
    .where(and(eq(judgeRuns.id, view.id), eq(judgeRuns.owner, owner), ne(judgeRuns.status, 'finished')))
    .run().changes === 1;
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
export function finishJudgeRun(db: WarmboxDb, view: JudgeRunView, owner: string, finishedAt: number, deliveries: RunDelivery[]): boolean {
  return db.transaction((tx) => {
    const { changes } = tx
      .update(judgeRuns)
      .set({ status: 'finished', view, finishedAt })
      .where(and(eq(judgeRuns.id, view.id), eq(judgeRuns.owner, owner), ne(judgeRuns.status, 'finished')))
      .run();
    if (changes !== 1) return false;
    for (const d of deliveries) {
      tx.insert(webhookDeliveries)
        .values({ ...d, judgeRunId: view.id, state: 'pending', attempts: 0, createdAt: finishedAt, updatedAt: finishedAt })
        .onConflictDoNothing()
        .run();
    }
    return true;
  });
}

/** The run, when it is the tenant's. */
export function getJudgeRun(db: WarmboxDb, id: string, tenantId: string): JudgeRunRow | undefined {
  return db.select().from(judgeRuns).where(and(eq(judgeRuns.id, id), eq(judgeRuns.tenantId, tenantId))).get();
}

export function getJudgeRunById(db: WarmboxDb, id: string): JudgeRunRow | undefined {
  return db.select().from(judgeRuns).where(eq(judgeRuns.id, id)).get();
}

/** Extends the lease of the unfinished runs among `ids` that `owner` holds; returns how many. */
export function renewJudgeRunLeases(db: WarmboxDb, owner: string, ids: string[], leaseUntil: number): number {
  if (ids.length === 0) return 0;
  return db
    .update(judgeRuns)
    .set({ leaseUntil })
    .where(and(inArray(judgeRuns.id, ids), eq(judgeRuns.owner, owner), ne(judgeRuns.status, 'finished')))
    .run().changes;
}

/** Lets go of `owner`'s unfinished runs (a stopping process): the next sweep of any process takes them over. */
export function releaseJudgeRunLeases(db: WarmboxDb, owner: string): number {
  return db
    .update(judgeRuns)
    .set({ leaseUntil: 0 })
    .where(and(eq(judgeRuns.owner, owner), ne(judgeRuns.status, 'finished')))
    .run().changes;
}

/** Unfinished runs whose lease ran out (or that never had one): their owner is gone. Oldest first. */
export function orphanedJudgeRuns(db: WarmboxDb, now: number, limit: number): string[] {
  return db
    .select({ id: judgeRuns.id })
    .from(judgeRuns)
    .where(and(ne(judgeRuns.status, 'finished'), or(isNull(judgeRuns.leaseUntil), lt(judgeRuns.leaseUntil, now))))
    .orderBy(asc(judgeRuns.createdAt))
    .limit(limit)
    .all()
    .map((r) => r.id);
}

/**
 * Takes an orphaned run over for `owner`, in one guarded write: of several processes that try at
 * once, exactly one wins. Returns the run as it stands, or undefined when another took it.
 */
export function takeOverJudgeRun(db: WarmboxDb, id: string, owner: string, now: number, leaseUntil: number): JudgeRunRow | undefined {
  const { changes } = db
    .update(judgeRuns)
    .set({ owner, leaseUntil })
    .where(and(eq(judgeRuns.id, id), ne(judgeRuns.status, 'finished'), or(isNull(judgeRuns.leaseUntil), lt(judgeRuns.leaseUntil, now))))
    .run();
  return changes === 1 ? getJudgeRunById(db, id) : undefined;
}
