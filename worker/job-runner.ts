/**
 * Runs one job from the queue to its recorded result: image → sandbox → command → result in the
 * db → the waiting request told. Every failure becomes a result (internal_error), never a lost job.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { finishJob, markRunning } from '../db/jobs.js';
import type { WarmboxDb } from '../db/client.js';
import type { StoredImage } from '../contract/stored-image.js';
import type { RunResult, Sandbox } from '../runtime/sandbox.js';
import { UnusableWorkdirError } from '../runtime/unusable-workdir-error.js';
import type { SandboxPools } from '../runtime/sandbox-pools.js';
import { publishFinished } from '../queue/finished-notifier.js';
import type { ImageResolver } from './image-resolver.js';
import { epochMs } from '../contract/epoch-ms.js';
import { cancelledBeforeStart, resultWithoutRun } from '../contract/result-without-run.js';
import { argvOf, envOf } from './job-command.js';
import type { JobPayload, JobResult } from '../contract/job-payload.js';
import { encodeBytes } from './output-encoding.js';
import { appendOutput, endOutput, type OutputChannel } from '../queue/output-stream.js';
import { NotQueuedError } from './not-queued-error.js';

export interface JobRunnerDeps {
  images: ImageResolver;
  pools: SandboxPools;
  db: WarmboxDb;
  redis: Redis;
  log: Logger;
  /** Called the moment a result is in the db (an API in this process wakes its waiters). */
  onFinished?: (id: string) => void;
  /**
   * Pulls an image into this worker's store. The API pulled it on first use, but on another worker
   * when workers do not share a data directory: this one then pulls it too. Absent: such a job fails.
   */
  pull?: (reference: string) => Promise<StoredImage>;
}

interface Timings {
  start: 'warm' | 'cold';
  queuedMs: number;
  pullMs: number;
  acquireMs: number;
  runMs: number;
}

export class JobRunner {
  /** Ids of the jobs this runner is running now. */
  private readonly inFlight = new Set<string>();

  constructor(private readonly deps: JobRunnerDeps) {}

  /** Whether this runner is running the job now (a reconcile sweep then leaves it alone). */
  isRunning(id: string): boolean {
    return this.inFlight.has(id);
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
    let result: JobResult;
    try {
      result = signal?.aborted ? cancelled(timings, started, job) : await this.runInSandbox(job, timings, started, signal);
    } catch (err) {
      if (err instanceof NotQueuedError) {
        this.deps.log.warn({ job: job.id }, err.message);
        throw err;
      }
      this.deps.log.error({ err, job: job.id }, 'job failed inside warmbox');
      result = internalError(err, timings, started, job);
    }
    await this.record(job.id, result);
    return result;
  }

  private async runInSandbox(job: JobPayload, timings: Timings, started: number, signal?: AbortSignal): Promise<JobResult> {
    const image = await this.resolveImage(job, timings);
    // The claim: one run per job, even when a re-queued job's old copy turns up at another worker.
    if (!markRunning(this.deps.db, job.id, Date.now(), image.digest)) throw new NotQueuedError(job.id);
    let sandbox: Sandbox;
    try {
      sandbox = await this.acquire(image, job, timings);
    } catch (err) {
      if (!(err instanceof UnusableWorkdirError)) throw err;
      return this.cannotStart(job, err, timings, started);
    }
    const run = await this.execute(sandbox, image, job, timings, signal);
    return toJobResult(run, timings, started, job);
  }

  /**
   * A job its image's working directory keeps from starting: exit 126 and why on its stderr, as
   * `docker run` and a shell say of a command they cannot start; warmbox itself did not fail.
   */
  private cannotStart(job: JobPayload, err: UnusableWorkdirError, timings: Timings, started: number): JobResult {
    const stderr = `warmbox: ${err.message}\n`;
    this.stream(job.id, 'stderr', Buffer.from(stderr));
    return {
      ...resultWithoutRun('nonzero_exit'),
      exitCode: 126,
      stderr,
      start: timings.start,
      timings: { ...roundTimings(timings), totalMs: totalMs(timings, started, job) },
    };
  }

  /** pullMs: the API's pull on first use (payload.pullMs), and this worker's own lookup or pull. */
  private async resolveImage(job: JobPayload, timings: Timings): Promise<StoredImage> {
    const t0 = performance.now();
    let image = await this.deps.images.resolve(job.image);
    if (!image && this.deps.pull) image = await this.deps.pull(job.image);
    timings.pullMs = (job.pullMs ?? 0) + performance.now() - t0;
    if (!image) throw new Error(`image ${job.image} is not in the snapshot store`);
    return image;
  }

  private async acquire(image: StoredImage, job: JobPayload, timings: Timings): Promise<Sandbox> {
    const t0 = performance.now();
    const { sandbox, start } = await this.deps.pools.acquire(image, job.limits.diskBytes);
    timings.acquireMs = performance.now() - t0;
    timings.start = start;
    return sandbox;
  }

  private async execute(sandbox: Sandbox, image: StoredImage, job: JobPayload, timings: Timings, signal?: AbortSignal): Promise<RunResult> {
    const t0 = performance.now();
    try {
      return await sandbox.run({
        argv: argvOf(job, image.config),
        env: envOf(job, image.config),
        files: job.files.map((f) => ({ path: f.path, content: Buffer.from(f.contentBase64, 'base64'), mode: f.mode })),
        stdin: Buffer.from(job.stdinBase64, 'base64'),
        ...job.limits,
        onStdout: (chunk) => this.stream(job.id, 'stdout', chunk),
        onStderr: (chunk) => this.stream(job.id, 'stderr', chunk),
        signal,
      });
    } catch (err) {
      void sandbox.destroy();
      throw err;
    } finally {
      timings.runMs = performance.now() - t0;
    }
  }

  /** Live output is best effort: the result in the db is the record. */
  private stream(id: string, channel: OutputChannel, chunk: Buffer): void {
    appendOutput(this.deps.redis, id, channel, chunk).catch((err) => this.deps.log.warn({ err, job: id }, 'output stream append failed'));
  }

  private async record(id: string, result: JobResult): Promise<void> {
    if (!finishJob(this.deps.db, id, result, Date.now())) {
      // A reconcile sweep finished it first (`lost`: it judged this worker dead, or Redis lost the job).
      this.deps.log.warn({ job: id, verdict: result.verdict }, `job ${id} was already finished (its first verdict stands); this run's result is not recorded`);
      return;
    }
    this.deps.onFinished?.(id);
    await Promise.all([publishFinished(this.deps.redis, id), endOutput(this.deps.redis, id)]);
  }
}

function toJobResult(run: RunResult, timings: Timings, started: number, job: JobPayload): JobResult {
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
