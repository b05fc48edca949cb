/** Judge0 drop-in submissions (db/schema.ts judge0Submissions): a judge run's Judge0 attributes. */
import { and, eq, inArray } from 'drizzle-orm';
import type { WarmboxDb } from './client.js';
import { judge0Submissions, judgeRuns, type JudgeRunRow } from './schema.js';

export function recordJudge0Submission(db: WarmboxDb, token: string, request: Record<string, unknown>): void {
  db.insert(judge0Submissions).values({ token, request }).run();
}

export interface StoredJudge0Submission {
  request: Record<string, unknown>;
  run: JudgeRunRow;
}

/** The tenant's submissions among `tokens`, in the order found. */
export function getJudge0Submissions(db: WarmboxDb, tokens: string[], tenantId: string): StoredJudge0Submission[] {
  if (tokens.length === 0) return [];
  return db
    .select({ request: judge0Submissions.request, run: judgeRuns })
    .from(judge0Submissions)
    .innerJoin(judgeRuns, eq(judgeRuns.id, judge0Submissions.token))
    .where(and(inArray(judge0Submissions.token, tokens), eq(judgeRuns.tenantId, tenantId)))
    .all();
}
