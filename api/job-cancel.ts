/**
 * The API's side of cancelling a job (queue/job-cancel.ts has the wire). A job still in the queue
 * is taken out and recorded as `cancelled` at once; a running one is left to the worker that runs
 * it, told over the cancel channel.
 */
import type { Redis } from 'ioredis';
import { cancelledBeforeStart } from '../contract/result-without-run.js';
import type { WarmboxDb } from '../db/client.js';
import { finishJob } from '../db/jobs.js';
import { publishFinished } from '../queue/finished-notifier.js';
import { requestCancel } from '../queue/job-cancel.js';
import type { JobQueue } from '../queue/job-queue.js';
import { endOutput } from '../queue/output-stream.js';

/** True when the job was still queued and is now recorded as cancelled. */
export async function cancelJob(deps: { db: WarmboxDb; queue: JobQueue; redis: Redis }, id: string): Promise<boolean> {
  if (await deps.queue.removeWaiting(id)) {
    finishJob(deps.db, id, cancelledBeforeStart(), Date.now());
    await Promise.all([publishFinished(deps.redis, id), endOutput(deps.redis, id)]);
    return true;
  }
  await requestCancel(deps.redis, id);
  return false;
}
