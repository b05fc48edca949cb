/** Judge runs (db/schema.ts judgeRuns): recorded at the request, rewritten as each step ends. */
import { and, eq } from 'drizzle-orm';
import type { JudgeRunView } from '../contract/judge.js';
import type { WarmboxDb } from './client.js';
import { judgeRuns, type JudgeRunRow } from './schema.js';

export function insertJudgeRun(db: WarmboxDb, tenantId: string, view: JudgeRunView, createdAt: number): void {
  db.insert(judgeRuns).values({ id: view.id, tenantId, status: view.status, view, createdAt }).run();
}

export function saveJudgeRun(db: WarmboxDb, view: JudgeRunView, finishedAt?: number): void {
  db.update(judgeRuns)
    .set({ status: view.status, view, ...(finishedAt !== undefined && { finishedAt }) })
    .where(eq(judgeRuns.id, view.id))
    .run();
}

/** The run, when it is the tenant's. */
export function getJudgeRun(db: WarmboxDb, id: string, tenantId: string): JudgeRunRow | undefined {
  return db.select().from(judgeRuns).where(and(eq(judgeRuns.id, id), eq(judgeRuns.tenantId, tenantId))).get();
}
