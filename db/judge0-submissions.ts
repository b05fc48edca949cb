/** Judge0 drop-in submissions (db/schema.ts judge0Submissions): a judge run's Judge0 attributes. */
import { and, eq, inArray } from 'drizzle-orm';
import type { WarmboxDb } from './database.js';
import type { JudgeRunRow } from './schema.js';

export async function recordJudge0Submission(db: WarmboxDb, token: string, request: Record<string, unknown>): Promise<void> {
  const { judge0Submissions } = db.t;
  await db.query(async (q) => q.insert(judge0Submissions).values({ token, request }));
}

export interface StoredJudge0Submission {
  request: Record<string, unknown>;
  run: JudgeRunRow;
}

/** The tenant's submissions among `tokens`, in the order found. */
export async function getJudge0Submissions(db: WarmboxDb, tokens: string[], tenantId: string): Promise<StoredJudge0Submission[]> {
  if (tokens.length === 0) return [];
  const { judge0Submissions, judgeRuns } = db.t;
  return db.query(async (q) =>
    q
      .select({ request: judge0Submissions.request, run: judgeRuns })
      .from(judge0Submissions)
      .innerJoin(judgeRuns, eq(judgeRuns.id, judge0Submissions.token))
      .where(and(inArray(judge0Submissions.token, tokens), eq(judgeRuns.tenantId, tenantId))),
  );
}
