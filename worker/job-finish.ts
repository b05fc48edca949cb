/**
 * Finishing a job, whoever finishes it (the runner with the job's result, a sweep that declares it
 * `lost`): the result and its webhook delivery are recorded in one transaction, this process's
 * waiters are woken, then every other process is told, the output stream ends and the delivery is
 * queued (queue/job-end.ts). The API's cancel of a queued job does the same two steps (it may not
 * import worker/).
 */
import type { JobResult } from '../contract/job-payload.js';
import type { WarmboxDb } from '../db/client.js';
import { recordResult } from '../db/jobs.js';
import { announceJobEnd, type JobEndParts } from '../queue/job-end.js';

export interface JobFinishDeps extends JobEndParts {
  db: WarmboxDb;
  /** Called the moment the result is in the db (an API in this process wakes its waiters). */
  onFinished?: (id: string) => void;
}

/** Returns false when the job was unknown or already finished (nothing recorded; the announce still goes out). */
export async function finishJobAndAnnounce(deps: JobFinishDeps, id: string, result: JobResult): Promise<boolean> {
  const recorded = await recordResult(deps.db, id, result, Date.now());
  deps.onFinished?.(id);
  await announceJobEnd(deps, id, recorded?.deliveryId ?? null);
  return recorded !== undefined;
}
