/**
 * Refuses a new job that would wait for a worker longer than `maxAgeMs`, and any job past
 * `maxQueued` waiting (a hard cap); either 0: that threshold is off. A refused request gets 503
 * `overloaded` with Retry-After at once, and nothing is recorded, rather than a job that sits in
 * the queue for seconds.
 *
 * The wait is predicted, not observed (refusing on the oldest job's wait so far reacts a whole wait
 * late: the gate swung between refusing everything and admitting bursts): a new job waits for the
 * jobs ahead of it to be taken, so its wait is (jobs ahead) / (drain rate).
 * - The drain rate is how many jobs per second the workers took from the queue over an interval
 *   between two samples with jobs waiting at both (they were busy: that is what they can do),
 *   smoothed over about SMOOTHING_MS. Jobs taken = jobs added (by every API process: Redis counts
 *   them) − the change in the queue, so several API processes each measure the same rate.
 * - The jobs ahead: the sampled queue, plus the jobs admitted since (by this process; by the others
 *   at the rate they have been adding), less what the workers took since at the drain rate, never
 *   below 0 (a leaky bucket). So between samples a process admits about as many jobs as the workers
 *   take. A batch is judged by its first job's wait.
 * - An idle queue (nobody waiting at a fresh sample) admits every job: the workers keep up with
 *   what arrives. (It is not the rate that decides there: one measured while the workers were slow
 *   would keep admissions down after they got faster, with no waiting job to show it.)
 * - The prediction is trusted once the workers were seen busy for SMOOTHING_MS and taking jobs.
 *   Before that, or while they take none (a burst they have not reached yet, slots all held by long
 *   jobs, stuck workers), the oldest waiting job's wait so far decides: a rate of 0 over a short
 *   interval is no evidence that a job would wait for ever (it refused a burst of 20 jobs 159 ms
 *   in, against a 60 s bound). As a backstop against a rate that is wrong, the oldest waiting job
 *   past OLDEST_BACKSTOP × `maxAgeMs` refuses whatever the prediction says.
 *
 * The queue's depth costs two Redis round trips (JobQueue.depth), so it is sampled, not read per
 * request: every SAMPLE_MS (or half the bound if that is shorter), refreshed in the background by
 * the request that finds the sample older. A sample older than STALE_MS (the API was idle; the
 * queue may have drained since) is not trusted: the request waits for a fresh one, up to
 * REFRESH_WAIT_MS.
 */
import type { Logger } from 'pino';
import type { QueueDepth } from '../queue/job-queue.js';
import { ApiError } from './errors.js';

export interface OverloadThresholds {
  /** Most jobs waiting for a worker before new ones are refused (a hard cap); 0: no limit. */
  maxQueued: number;
  /** Longest a new job should wait for a worker, ms: refused when its predicted wait is longer; 0: no limit. */
  maxAgeMs: number;
}

/** How old a depth sample may be before a request refreshes it (in the background), ms. */
export const SAMPLE_MS = 100;
/** The shortest a sample lives (half a very short bound), ms: each sample is two Redis round trips. */
const MIN_SAMPLE_MS = 10;
/** How old a sample may be and still decide; older, the request waits for a fresh one, ms. */
const STALE_MS = 1000;
/** The most a request waits for that fresh sample (Redis slow or down: the enqueue then says so), ms. */
const REFRESH_WAIT_MS = 250;
/** The Retry-After a refusal carries is the predicted wait, rounded up, within these bounds (s). */
const RETRY_AFTER_S = { min: 1, max: 30 } as const;
/** The time constant of the rates' exponential average, ms: long enough to even out jobs taken several at a time. */
const SMOOTHING_MS = 1000;
/** The oldest waiting job past this many times `maxAgeMs` refuses, whatever the prediction (it was wrong). */
const OLDEST_BACKSTOP = 2;

interface Sample extends QueueDepth {
  at: number;
}

export class OverloadGate {
  private sample: Sample | undefined;
  private refreshing: Promise<void> | undefined;
  /** Jobs admitted since the sample was taken. */
  private admitted = 0;
  /** Jobs per second the workers take while jobs wait; undefined until an interval with jobs waiting throughout. */
  private drainPerS: number | undefined;
  /** How long the workers were seen busy (jobs waiting at both ends of an interval), ms: the rate is trusted from SMOOTHING_MS on. */
  private busyObservedMs = 0;
  /** Jobs per second added by others (other API processes, re-queues): added to the queue, not admitted here. */
  private othersPerS = 0;
  /** Jobs ahead of a new one as of `aheadAt` (the leaky bucket). */
  private ahead = 0;
  private aheadAt = 0;

  constructor(
    private readonly thresholds: OverloadThresholds,
    private readonly depth: (now: number) => Promise<QueueDepth>,
    private readonly log?: Logger,
    /** The clock (a test drives its own). */
    private readonly clock: () => number = Date.now,
  ) {}

  /** A sample's life: SAMPLE_MS, or half the age bound if that is shorter (the error of what the gate extrapolates grows with it). */
  private get sampleMs(): number {
    return this.thresholds.maxAgeMs > 0 ? Math.min(SAMPLE_MS, Math.max(MIN_SAMPLE_MS, this.thresholds.maxAgeMs / 2)) : SAMPLE_MS;
  }

  get enabled(): boolean {
    return this.thresholds.maxQueued > 0 || this.thresholds.maxAgeMs > 0;
  }

  /** Rejects with ApiError 503 `overloaded` when `jobs` more would go past a threshold; otherwise counts them as admitted. */
  async admit(jobs: number): Promise<void> {
    if (!this.enabled) return;
    const age = this.sample === undefined ? Infinity : this.clock() - this.sample.at;
    if (age >= STALE_MS) await this.refreshWithin(REFRESH_WAIT_MS);
    else if (age >= this.sampleMs) void this.refresh();
    const now = this.clock();
    const s = this.sample;
    const queued = (s?.queued ?? 0) + this.admitted;
    const oldestAgeMs = s === undefined || s.oldestAgeMs === 0 ? 0 : s.oldestAgeMs + (now - s.at);
    const { maxQueued, maxAgeMs } = this.thresholds;
    const drainPerS = this.trustedDrainPerS();
    let waitMs = drainPerS === undefined ? oldestAgeMs : this.idle(s!, now) ? 0 : this.predictedWaitMs(now, drainPerS);
    // The backstop judges the sampled age: extrapolated by a sample's life, it would pass a short bound in a healthy queue.
    if (s !== undefined && s.oldestAgeMs > OLDEST_BACKSTOP * maxAgeMs) waitMs = Math.max(waitMs, oldestAgeMs);
    const tooMany = maxQueued > 0 && queued + jobs > maxQueued;
    const tooLong = maxAgeMs > 0 && waitMs > maxAgeMs;
    if (tooMany || tooLong) throw overloaded(queued, oldestAgeMs, waitMs, this.thresholds, tooMany);
    this.admitted += jobs;
    this.ahead += jobs;
  }

  /**
   * Nobody waited at a fresh sample. Fresh: within two sample lives, so what is admitted on it stays
   * a small burst (after the event loop was held up, the requests it held are predicted).
   */
  private idle(s: Sample, now: number): boolean {
    return s.queued === 0 && now - s.at < 2 * this.sampleMs;
  }

  /** The drain rate once it can predict: measured over SMOOTHING_MS of busy workers, and not 0. */
  private trustedDrainPerS(): number | undefined {
    return this.busyObservedMs >= SMOOTHING_MS && this.drainPerS !== undefined && this.drainPerS > 0 ? this.drainPerS : undefined;
  }

  /** The wait of a job admitted now: the jobs ahead of it, drained at the drain rate (> 0), ms. */
  private predictedWaitMs(now: number, drainPerS: number): number {
    this.ahead = Math.max(0, this.ahead + ((this.othersPerS - drainPerS) * Math.max(0, now - this.aheadAt)) / 1000);
    this.aheadAt = now;
    return (this.ahead / drainPerS) * 1000;
  }

  /** A new sample: the rates from the interval since the last one, and the jobs ahead start again from the queue. */
  private observe(d: QueueDepth, at: number, admittedInInterval: number): void {
    const p = this.sample;
    if (p !== undefined && at > p.at) {
      const dtS = (at - p.at) / 1000;
      const added = Math.max(0, d.added - p.added); // a Redis that lost its data starts counting again
      const drainedPerS = Math.max(0, p.queued + added - d.queued) / dtS;
      const weight = 1 - Math.exp(-(at - p.at) / SMOOTHING_MS);
      // Jobs waited at both ends: the workers were busy. Otherwise they may have idled, and what they
      // took says what arrived, not what they can do.
      if (p.queued > 0 && d.queued > 0) {
        this.drainPerS = this.drainPerS === undefined ? drainedPerS : this.drainPerS + weight * (drainedPerS - this.drainPerS);
        this.busyObservedMs += at - p.at;
      }
      this.othersPerS += weight * (Math.max(0, added - admittedInInterval) / dtS - this.othersPerS);
    }
    this.sample = { ...d, at };
    // Jobs admitted while the read was out may not be in it yet: keep counting those.
    this.admitted -= admittedInInterval;
    this.ahead = d.queued + this.admitted;
    this.aheadAt = at;
  }

  /** Reads the depth in the background; a failed read keeps the last sample (an unreachable Redis refuses the enqueue itself). */
  private refresh(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    const admittedBefore = this.admitted;
    const at = this.clock();
    this.refreshing = this.depth(at)
      .then((d) => this.observe(d, at, admittedBefore))
      .catch((err: unknown) => this.log?.debug({ err }, 'overload gate: reading the queue depth failed; keeping the last sample'))
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async refreshWithin(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.refresh(), new Promise((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }
}

function overloaded(queued: number, oldestAgeMs: number, waitMs: number, t: OverloadThresholds, tooMany: boolean): ApiError {
  const why = tooMany
    ? `${queued} jobs wait for a worker (at most ${t.maxQueued})`
    : `a new job would wait about ${Math.round(waitMs)} ms for a worker (at most ${t.maxAgeMs})`;
  const retryS = Math.min(RETRY_AFTER_S.max, Math.max(RETRY_AFTER_S.min, Math.ceil(waitMs / 1000)));
  return new ApiError(
    503,
    'overloaded',
    `the service is overloaded: ${why}; nothing was recorded; retry after Retry-After seconds`,
    { queued, oldestAgeMs: Math.round(oldestAgeMs), waitMs: Math.round(waitMs) },
    { 'Retry-After': String(retryS) },
  );
}
