/**
 * Runs one job from the queue to its recorded result: image → sandbox → command → result in the
 * db → the waiting request told. Every failure becomes a result (internal_error), never a lost job.
 * A stop (worker-stop.ts) sends a job that has not reached its sandbox back to the queue, and
 * ends a job still running when the grace period is over `lost`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { finishJob, markRunning } from '../db/jobs.js';
import type { WarmboxDb } from '../db/client.js';
import type { StoredImage } from '../contract/stored-image.js';
import type { RunRequest, RunResult, Sandbox } from '../runtime/sandbox.js';
import { UnusableWorkdirError } from '../runtime/unusable-workdir-error.js';
import type { SandboxPools } from '../runtime/sandbox-pools.js';
import type { ImageResolver } from './image-resolver.js';
import { epochMs } from '../contract/epoch-ms.js';
import { withDefaults } from '../contract/limits.js';
import { cancelledBeforeStart, resultWithoutRun } from '../contract/result-without-run.js';
import { argvOf, envOf } from './job-command.js';
import type { BuiltLayer, JobPayload, JobResult } from '../contract/job-payload.js';
import type { BlobAccess } from './blob-access.js';
import { jobInputs } from './job-blobs.js';
import { encodeBytes } from './output-encoding.js';
import { OutputAppender } from '../queue/output-stream.js';
import { JobNotStartedError } from '../queue/job-not-started-error.js';
import type { WorkerStop } from './worker-stop.js';
import type { JobMetrics } from './job-metrics.js';
import { inSpan, runAttributes } from './job-spans.js';
import { NotQueuedError } from './not-queued-error.js';
import { eitherSignal } from './either-signal.js';
import type { WebhookQueue } from '../queue/webhook-queue.js';
import { announceJobEnd } from '../queue/job-end.js';
import type { FinishedNotice } from '../queue/finished-notifier.js';
import { recordResult, type RecordedResult } from '../db/jobs.js';
import type { BuildLayerStore } from './build-layer.js';
import { runInteractivePair, type PairedRunResult } from './interactive-pair.js';

export interface JobRunnerDeps {
  images: ImageResolver;
  pools: SandboxPools;
  db: WarmboxDb;
  redis: Redis;
  /** This worker's logger (its lines carry `worker`); each line about a job adds `job`. */
  log: Logger;
  /** Called the moment a result is in the db (an API in this process wakes its waiters with the notice). */
  onFinished?: (id: string, notice?: FinishedNotice) => void;
  /** Where a finished job's webhook delivery is queued; absent: the sweep queues it. */
  webhooks?: WebhookQueue;
  /**
   * Gets an image the db has into this worker's store (worker/image-obtain.ts): another worker
   * pulled, imported or made it, on a host of its own. Absent: such a job fails.
   */
  pull?: (reference: string) => Promise<StoredImage>;
  /** The worker's stop; absent: jobs are never returned to the queue nor cut off. */
  stop?: WorkerStop;
  /** Where each finished job's latencies are counted; absent: nowhere. */
  metrics?: JobMetrics;
  /** The blobs jobs reference (their stdin, their files), fetched when this host lacks them; absent: such a job ends internal_error. */
  blobs?: BlobAccess;
  /** Where a judge build's output is stored (JobPayload.captureLayer); absent: such a job fails. */
  buildLayers?: BuildLayerStore;
}

/** What the claim recorded in the job's row: when it reached its sandbox, of which image digest. */
interface Claim {
  startedAt: number | null;
  digest: string | null;
}

interface Timings {
  start: 'warm' | 'cold';
  queuedMs: number;
  pullMs: number;
  acquireMs: number;
  runMs: number;
}

export class JobRunner {
  /** Jobs in a sandbox now, and how to finish each as `lost` if the process must exit at once. */
  private readonly inSandbox = new Map<string, (error: string) => JobResult>();
  /** Ids of the jobs this runner is running now. */
  private readonly inFlight = new Set<string>();
  /** Steps before a sandbox still pending (beforeStart): a drain gives each up. One listener for all, not one per step. */
  private readonly notStartedYet = new Set<(err: JobNotStartedError) => void>();

  constructor(private readonly deps: JobRunnerDeps) {
    deps.stop?.draining.addEventListener('abort', () => this.notStartedYet.forEach((giveUp) => giveUp(notStartedError())), { once: true });
  }

  /** How many jobs this runner is running now. */
  get running(): number {
    return this.inFlight.size;
  }

  /** Whether this runner is running the job now (a reconcile sweep then leaves it alone). */
  isRunning(id: string): boolean {
    return this.inFlight.has(id);
  }

  /**
   * A second signal: the process exits once this resolves. Records every job running in a sandbox
   * as `lost` (all at once; a record that fails is left to the reconciler's rule); jobs not yet in
   * a sandbox stay `queued`.
   */
  async recordRunningAsLost(): Promise<number> {
    const error = this.deps.stop?.lostReason(true) ?? 'the worker was stopped at once';
    const records = [...this.inSandbox].map(([id, lost]) => finishJob(this.deps.db, id, lost(error), Date.now()).catch(() => false));
    await Promise.all(records);
    return records.length;
  }

  /** Throws NotQueuedError, recording nothing, when the job was claimed or finished elsewhere. */
  async run(job: JobPayload, signal?: AbortSignal): Promise<JobResult> {
    this.inFlight.add(job.id);
    try {
      return await this.runAndRecord(job, signal);
    } finally {
      this.inFlight.delete(job.id);
    }
  }

  private async runAndRecord(job: JobPayload, signal?: AbortSignal): Promise<JobResult> {
    const started = epochMs();
    const timings: Timings = { start: 'cold', queuedMs: Math.max(0, started - job.createdAt), pullMs: 0, acquireMs: 0, runMs: 0 };
    // Live output is best effort: the result in the db is the record.
    const output = new OutputAppender(this.deps.redis, job.id, (err) => this.deps.log.warn({ err, job: job.id }, 'output stream append failed'));
    const claim: Claim = { startedAt: null, digest: null };
    let result: JobResult;
    try {
      result = signal?.aborted ? cancelled(timings, started, job) : await this.runInSandbox(job, output, timings, started, claim, signal);
    } catch (err) {
      if (err instanceof JobNotStartedError) throw err; // back to the queue: nothing to record
      if (err instanceof NotQueuedError) {
        this.deps.log.warn({ job: job.id }, err.message);
        throw err;
      }
      this.deps.log.error({ err, job: job.id }, 'job failed inside warmbox');
      result = internalError(err, timings, started, job);
    }
    try {
      await inSpan('result record', { 'warmbox.job.verdict': result.verdict }, () => this.record(job.id, result, output, claim));
    } catch (err) {
      logJobFinished(this.deps.log, job, result, err);
      throw err;
    }
    logJobFinished(this.deps.log, job, result);
    this.deps.metrics?.recordFinished(job, result);
    return result;
  }

  /**
   * `running` in the db means the job reached its sandbox: before that a stop may still return
   * it to the queue, and a job left `queued` by a dead worker never ran (README "When things fail").
   */
  private async runInSandbox(job: JobPayload, output: OutputAppender, timings: Timings, started: number, claim: Claim, signal?: AbortSignal): Promise<JobResult> {
    const image = await this.beforeStart(this.resolveImage(job, timings));
    let sandbox: Sandbox;
    try {
      sandbox = await this.beforeStart(this.acquire(image, job, timings), (s) => void s.destroy());
    } catch (err) {
      if (!(err instanceof UnusableWorkdirError)) throw err;
      return this.cannotStart(job, err, output, timings, started);
    }
    // The claim: one run per job, even when a re-queued job's old copy turns up at another worker.
    const startedAt = Date.now();
    if (!(await markRunning(this.deps.db, job.id, startedAt, image.digest))) {
      void sandbox.destroy();
      throw new NotQueuedError(job.id);
    }
    claim.startedAt = startedAt;
    claim.digest = image.digest;
    // The fault tests count these lines: a job must never start twice (test/helpers/job-outcomes.ts).
    this.deps.log.debug({ job: job.id }, 'job started');
    this.inSandbox.set(job.id, (error) => ({ ...internalError(new Error(error), timings, started, job), verdict: 'lost' }));
    try {
      const run = await this.execute(sandbox, image, job, output, timings, signal);
      const built = await this.keepBuildOutput(run, image, job);
      return this.cutOffByStop({ ...toJobResult(run, timings, started, job), ...(built && { built }) }, signal);
    } finally {
      this.inSandbox.delete(job.id);
    }
  }

  /**
   * A judge build that exited 0: its writable layer into the store (worker/build-layer.ts). The
   * sandbox is released either way; a failure to store the layer fails the job (internal_error).
   */
  private async keepBuildOutput(run: RunResult, image: StoredImage, job: JobPayload): Promise<BuiltLayer | undefined> {
    const layer = run.writableLayer;
    if (!layer) {
      if (job.captureLayer && run.verdict === 'ok') throw new Error('the build sandbox did not keep its writable layer');
      return undefined;
    }
    try {
      if (run.verdict !== 'ok') return undefined;
      if (!this.deps.buildLayers) throw new Error('this worker cannot store build output');
      return await inSpan('build layer store', { 'warmbox.job.id': job.id }, () => this.deps.buildLayers!.admit(image, layer.upperDir, job.id));
    } finally {
      await layer.release();
    }
  }

  /**
   * A step before the job reaches its sandbox, given up when the worker starts to stop: the job
   * goes back to the queue (JobNotStartedError), and what the step yields later is discarded.
   */
  private async beforeStart<T>(step: Promise<T>, discard: (value: T) => void = () => {}): Promise<T> {
    const draining = this.deps.stop?.draining;
    if (!draining) return step;
    let giveUp!: (err: JobNotStartedError) => void;
    const stopped = new Promise<never>((_, reject) => (giveUp = reject));
    if (draining.aborted) giveUp(notStartedError());
    else this.notStartedYet.add(giveUp);
    let value: T;
    try {
      value = await Promise.race([step, stopped]);
    } catch (err) {
      if (err instanceof JobNotStartedError) void step.then(discard, () => undefined);
      throw err;
    } finally {
      this.notStartedYet.delete(giveUp);
    }
    if (!draining.aborted) return value;
    discard(value);
    throw notStartedError();
  }

  /** Killed because the grace period ended (not cancelled by a client): the job is `lost`. */
  private cutOffByStop(result: JobResult, cancel?: AbortSignal): JobResult {
    const stop = this.deps.stop;
    if (!stop?.graceOver.aborted || cancel?.aborted || result.verdict !== 'cancelled') return result;
    return { ...result, verdict: 'lost', error: stop.lostReason() };
  }

  /**
   * A job its image's working directory keeps from starting: exit 126 and why on its stderr, as
   * `docker run` and a shell say of a command they cannot start; warmbox itself did not fail.
   */
  private cannotStart(job: JobPayload, err: UnusableWorkdirError, output: OutputAppender, timings: Timings, started: number): JobResult {
    const stderr = `warmbox: ${err.message}\n`;
    output.write('stderr', Buffer.from(stderr));
    return {
      ...resultWithoutRun('nonzero_exit'),
      exitCode: 126,
      stderr,
      start: timings.start,
      timings: { ...roundTimings(timings), totalMs: totalMs(timings, started, job) },
    };
  }

  /** pullMs: the API's pull on first use (payload.pullMs), and this worker's own lookup or pull. */
  private resolveImage(job: JobPayload, timings: Timings): Promise<StoredImage> {
    return inSpan('image resolve', { 'warmbox.image': job.image }, async (span) => {
      const t0 = performance.now();
      let image = await this.deps.images.resolve(job.image);
      span.setAttribute('warmbox.image.pulled', !image && this.deps.pull !== undefined);
      if (!image && this.deps.pull) image = await this.deps.pull(job.image);
      timings.pullMs = (job.pullMs ?? 0) + performance.now() - t0;
      if (!image) throw new Error(`image ${job.image} is not in the snapshot store`);
      span.setAttribute('warmbox.image.digest', image.digest);
      return image;
    });
  }

  private acquire(image: StoredImage, job: JobPayload, timings: Timings): Promise<Sandbox> {
    return inSpan('sandbox acquire', { 'warmbox.image': image.reference }, async (span) => {
      const t0 = performance.now();
      const { sandbox, start } = await this.deps.pools.acquire(image, job.limits.diskBytes, job.network ?? 'none');
      timings.acquireMs = performance.now() - t0;
      timings.start = start;
      span.setAttribute('warmbox.sandbox.start', start);
      return sandbox;
    });
  }

  private execute(sandbox: Sandbox, image: StoredImage, job: JobPayload, output: OutputAppender, timings: Timings, cancel?: AbortSignal): Promise<PairedRunResult> {
    return inSpan('job run', { 'warmbox.job.id': job.id }, async (span) => {
      const run = await this.runIn(sandbox, image, job, output, timings, cancel);
      span.setAttributes(runAttributes(run));
      return run;
    });
  }

  private async runIn(sandbox: Sandbox, image: StoredImage, job: JobPayload, output: OutputAppender, timings: Timings, cancel?: AbortSignal): Promise<PairedRunResult> {
    const t0 = performance.now();
    const { signal, release } = eitherSignal(cancel, this.deps.stop?.graceOver);
    try {
      const request: RunRequest = {
        argv: argvOf(job, image.config),
        env: envOf(job, image.config),
        ...(job.workdir !== undefined && { workdir: job.workdir }),
        ...(await jobInputs(job, this.deps.blobs)),
        ...withDefaults(job.limits),
        ...(job.captureLayer && { capture: true }),
        onStdout: (chunk) => output.write('stdout', chunk),
        onStderr: (chunk) => output.write('stderr', chunk),
        signal,
      };
      // An interactive pair: the interactor gets a sandbox of its own beside this one (worker/interactive-pair.ts).
      return await (job.interactor ? runInteractivePair(this.deps, job, sandbox, request) : sandbox.run(request));
    } catch (err) {
      void sandbox.destroy();
      throw err;
    } finally {
      release();
      timings.runMs = performance.now() - t0;
    }
  }

  /**
   * Writes the result and its webhook delivery (undefined: the job was finished already), and when the db refuses it (its disk full, its file locked) offers it again
   * with backoff rather than losing a result that exists: the job stays active in the queue
   * meanwhile. Past RECORD_RETRY_MS it gives up; the job then ends `lost` by the reconciler's rule.
   */
  private async recordDurably(id: string, result: JobResult, finishedAt: number): Promise<RecordedResult | undefined> {
    for (let attempt = 0, deadline = Date.now() + RECORD_RETRY_MS; ; attempt++) {
      try {
        const recorded = await recordResult(this.deps.db, id, result, finishedAt);
        if (attempt > 0) this.deps.log.warn({ job: id, attempts: attempt + 1 }, 'the result was recorded after the db refused it');
        return recorded;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        if (attempt === 0) this.deps.log.error({ err, job: id }, 'recording the result failed; offering it again until the db takes it');
        await sleep(Math.min(5000, 50 * 2 ** attempt));
      }
    }
  }

  /**
   * Every chunk is in the output stream before the result is in the db (an event stream that finds
   * the job finished reads the stream to its end and stops), and the end entry goes after both;
   * then waiters, other processes and the webhook hear of it; the waiters with the result itself
   * (the notice), so that they need not read it back from the db.
   */
  private async record(id: string, result: JobResult, output: OutputAppender, claim: Claim): Promise<void> {
    await output.flushed();
    const finishedAt = Date.now();
    const recorded = await this.recordDurably(id, result, finishedAt);
    if (recorded === undefined) {
      // A reconcile sweep finished it first (`lost`: it judged this worker dead, or Redis lost the job).
      this.deps.log.warn({ job: id, verdict: result.verdict }, `job ${id} was already finished (its first verdict stands); this run's result is not recorded`);
      return;
    }
    const notice: FinishedNotice = { id, digest: claim.digest, startedAt: claim.startedAt, finishedAt, result };
    this.deps.onFinished?.(id, notice);
    await announceJobEnd(this.deps, id, recorded.deliveryId, notice);
  }
}

function notStartedError(): JobNotStartedError {
  return new JobNotStartedError('the worker is stopping; the job had not started and went back to the queue');
}

/** How long a result that the db refuses (a full disk, a locked file) is kept and offered again. */
const RECORD_RETRY_MS = 10 * 60_000;

/**
 * The one line a job leaves at its end: what it was and how it went, never what it carried or
 * printed (stdin, files, env values and output may be secrets).
 */
function logJobFinished(log: Logger, job: JobPayload, result: JobResult, recordError?: unknown): void {
  if (recordError === undefined && !log.isLevelEnabled('info')) return;
  const fields = {
    job: job.id,
    image: job.image,
    verdict: result.verdict,
    exitCode: result.exitCode,
    signal: result.signal,
    start: result.start,
    timings: result.timings,
    usage: result.usage,
    ...(result.error && { error: result.error }),
  };
  if (recordError === undefined) log.info(fields, 'job finished');
  else log.error({ ...fields, err: recordError }, 'job finished, but recording its result failed');
}

function toJobResult(run: PairedRunResult, timings: Timings, started: number, job: JobPayload): JobResult {
  const stdout = encodeBytes(run.stdout);
  const stderr = encodeBytes(run.stderr);
  return {
    verdict: run.verdict,
    exitCode: run.exitCode,
    signal: run.signal,
    stdout: stdout.text,
    stderr: stderr.text,
    ...(stdout.encoding && { stdoutEncoding: stdout.encoding }),
    ...(stderr.encoding && { stderrEncoding: stderr.encoding }),
    stdoutTruncated: run.stdoutTruncated,
    stderrTruncated: run.stderrTruncated,
    usage: run.usage,
    start: timings.start,
    timings: { ...roundTimings(timings), totalMs: totalMs(timings, started, job) },
    ...(run.error && { error: run.error }),
    ...(run.interactor && { interactor: run.interactor }),
  };
}

/** Cancelled before it reached a sandbox. */
function cancelled(timings: Timings, started: number, job: JobPayload): JobResult {
  return { ...cancelledBeforeStart(), timings: { ...roundTimings(timings), totalMs: totalMs(timings, started, job) } };
}

function internalError(err: unknown, timings: Timings, started: number, job: JobPayload): JobResult {
  return {
    ...resultWithoutRun('internal_error'),
    start: timings.start,
    timings: { ...roundTimings(timings), totalMs: totalMs(timings, started, job) },
    error: err instanceof Error ? err.message : String(err),
  };
}

/** From the request to now: the API's pull on first use, the wait in the queue, and this run. */
function totalMs(timings: Timings, started: number, job: JobPayload): number {
  return round((job.pullMs ?? 0) + timings.queuedMs + epochMs() - started);
}

function roundTimings(t: Timings): Omit<Timings, 'start'> {
  return { queuedMs: round(t.queuedMs), pullMs: round(t.pullMs), acquireMs: round(t.acquireMs), runMs: round(t.runMs) };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
