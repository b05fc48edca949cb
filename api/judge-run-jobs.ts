/**
 * The jobs of a judge run, one step at a time (the build, test 3, the checker of test 3): each an
 * ordinary job of the run's tenant, labelled `warmbox.judge=<run id>` and `warmbox.judge.step`.
 * A step's job id follows from the run's id and the step's name, so a process that resumes the run
 * finds the job an earlier one made (finished: its result is used; queued or running: it is waited
 * for) instead of running the step again, and two processes can never both make it (the id is the
 * jobs table's primary key). A job that ended `lost` (its worker died: it never finished) is made
 * again under the next attempt's id, at most STEP_ATTEMPTS in all; a submission refused for a
 * while (the queue unavailable, overloaded, the tenant's rate) is tried again until SUBMIT_RETRY_MS.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { InteractorPayload, JobResult } from '../contract/job-payload.js';
import type { Tenant } from '../contract/tenant.js';
import { getJob } from '../db/jobs.js';
import type { JobRow } from '../db/schema.js';
import type { AppDeps } from './deps.js';
import { ApiError } from './errors.js';
import { JOB_ID_PATTERN } from './job-id.js';
import { submitJobs } from './job-submission.js';
import { JobWaiter } from './job-waiter.js';
import type { JobRequest } from './schemas/job-request.js';

/** How long a run waits for one of its jobs (queue time included) before it calls it lost. */
const JOB_WAIT_MS = 30 * 60_000;
/** Jobs one step makes at most: the first, and again after each one lost to a dead worker. */
const STEP_ATTEMPTS = 3;
/** How long a refused submission (503, 429) is tried again before the run gives up on it. */
const SUBMIT_RETRY_MS = 10 * 60_000;
const SUBMIT_RETRY_MAX_WAIT_MS = 5_000;

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export const STEP_LABEL = 'warmbox.judge.step';
export const RUN_LABEL = 'warmbox.judge';

export type StepSpec = Pick<JobRequest, 'cmd' | 'stdin' | 'files' | 'limits'>;

export interface StepJob {
  jobId: string;
  result: JobResult;
}

export interface RunJobContext {
  deps: AppDeps;
  tenant: Tenant;
  runId: string;
  /** The run's own image: a job in another one (image + build layer) may name an internal image. */
  plainImage: string;
}

export interface StepOptions {
  image: string;
  captureLayer: boolean;
  /** Called with the job's id once it is recorded (or found). */
  onJob?: (jobId: string) => void;
  /** An interactive test: the job is the solution side of a pair with this interactor (api/judge-interactive.ts). */
  interactor?: InteractorPayload;
  /** Whether a finished job's result can be used; false: the step runs again (e.g. its build image is gone). */
  usable?: (result: JobResult) => boolean | Promise<boolean>;
}

/**
 * A step's job id: a ULID of the run's time (its id's first 10 characters) and 16 characters of
 * sha256(run id, step), so every process computes the same one.
 */
export function stepJobId(runId: string, step: string): string {
  const digest = createHash('sha256').update(`${runId}/${step}`).digest();
  let random = '';
  for (let i = 0; i < 16; i++) random += CROCKFORD[digest[i]! % 32];
  const id = runId.slice(0, 10) + random;
  if (!JOB_ID_PATTERN.test(id)) throw new Error(`judge run id ${JSON.stringify(runId)} does not begin with a ULID time`);
  return id;
}

/** Runs the step (or finds its job), and returns the job's result once it is finished. */
export async function runStep(ctx: RunJobContext, step: string, spec: StepSpec, opts: StepOptions): Promise<StepJob> {
  for (let attempt = 0; ; attempt++) {
    const jobId = stepJobId(ctx.runId, `${step}#${attempt}`);
    const waiter = (await existingJob(ctx, jobId)) ?? (await submitStep(ctx, jobId, step, spec, opts));
    opts.onJob?.(jobId);
    const result = await waiter();
    const last = attempt + 1 >= STEP_ATTEMPTS;
    if (!last && (result.verdict === 'lost' || !(await (opts.usable?.(result) ?? true)))) continue;
    return { jobId, result };
  }
}

type ResultWaiter = () => Promise<JobResult>;

/** A job of the step an earlier process made: a wait for its result (registered before the row is read again, so its finish is not missed). */
async function existingJob(ctx: RunJobContext, jobId: string): Promise<ResultWaiter | undefined> {
  const row = getJob(ctx.deps.db, jobId);
  if (row === undefined) return undefined;
  if (row.status === 'finished') return () => Promise.resolve(resultOf(row));
  const waiter = JobWaiter.start(ctx.deps.db, ctx.deps.notifier, row, JOB_WAIT_MS);
  const fresh = getJob(ctx.deps.db, jobId);
  if (fresh?.status === 'finished') {
    waiter.cancel();
    return () => Promise.resolve(resultOf(fresh));
  }
  return async () => resultOf(await waiter.result(), jobId);
}

/** Submits the step's job under its id; a refusal that may pass (503, 429) is tried again for a while. */
async function submitStep(ctx: RunJobContext, jobId: string, step: string, spec: StepSpec, opts: StepOptions): Promise<ResultWaiter> {
  const request = { image: opts.image, network: 'none', ...spec, labels: { [RUN_LABEL]: ctx.runId, [STEP_LABEL]: step } } as JobRequest;
  const giveUpAt = Date.now() + SUBMIT_RETRY_MS;
  for (let wait = 250; ; wait = Math.min(wait * 2, SUBMIT_RETRY_MAX_WAIT_MS)) {
    let waiter: JobWaiter | undefined;
    try {
      await submitJobs(ctx.deps, [request], {
        tenant: ctx.tenant,
        ids: [jobId],
        captureLayer: opts.captureLayer,
        buildImage: opts.image !== ctx.plainImage,
        ...(opts.interactor && { interactor: opts.interactor }),
        beforeEnqueue: (recorded) => (waiter = JobWaiter.start(ctx.deps.db, ctx.deps.notifier, recorded[0]!, JOB_WAIT_MS)),
        onEnqueueFailed: () => waiter?.cancel(),
      });
      const started = waiter!;
      return async () => resultOf(await started.result(), jobId);
    } catch (err) {
      waiter?.cancel();
      // Another process recorded it first (it took the run over): wait for that one.
      const found = await existingJob(ctx, jobId);
      if (found !== undefined) return found;
      const passing = err instanceof ApiError && (err.status === 503 || err.status === 429);
      if (!passing || Date.now() + wait > giveUpAt) throw err;
      ctx.deps.logger.warn({ err, judgeRun: ctx.runId, step }, 'a judge run\'s job was refused for now; trying again');
      await sleep(wait);
    }
  }
}

function resultOf(row: JobRow | undefined, jobId = row?.id): JobResult {
  if (row?.status !== 'finished' || row.result === null || row.result === undefined) throw new Error(`job ${jobId} did not finish within ${JOB_WAIT_MS} ms`);
  return row.result;
}
