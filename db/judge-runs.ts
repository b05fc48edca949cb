/** Judge runs (db/schema.ts judgeRuns): recorded at the request, rewritten as each step ends. */
import { and, eq } from 'drizzle-orm';
import type { JudgeRunView } from '../contract/judge.js';
import { first, type WarmboxDb } from './database.js';
import type { JudgeRunRow } from './schema.js';

export async function insertJudgeRun(db: WarmboxDb, tenantId: string, view: JudgeRunView, createdAt: number): Promise<void> {
  const { judgeRuns } = db.t;
  await db.query(async (q) => q.insert(judgeRuns).values({ id: view.id, tenantId, status: view.status, view, createdAt }));
}

export async function saveJudgeRun(db: WarmboxDb, view: JudgeRunView, finishedAt?: number): Promise<void> {
  const { judgeRuns } = db.t;
  await db.query(async (q) =>
    q
      .update(judgeRuns)
      .set({ status: view.status, view, ...(finishedAt !== undefined && { finishedAt }) })
      .where(eq(judgeRuns.id, view.id)),
  );
}

/** The run, when it is the tenant's. */
export function getJudgeRun(db: WarmboxDb, id: string, tenantId: string): Promise<JudgeRunRow | undefined> {
  const { judgeRuns } = db.t;
  return db.query(async (q) => first(await q.select().from(judgeRuns).where(and(eq(judgeRuns.id, id), eq(judgeRuns.tenantId, tenantId))).limit(1)));
}
