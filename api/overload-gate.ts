/**
 * Refuses new jobs while the queue is past what the workers drain within a job's wait: more jobs
 * waiting for a worker than `maxQueued`, or the oldest of them waiting longer than `maxAgeMs`
 * (either 0: that threshold is off). A refused request gets 503 `overloaded` with Retry-After at
 * once, and nothing is recorded, rather than a job that sits in the queue for seconds.
 *
 * The queue's depth costs two Redis round trips (JobQueue.depth), so it is sampled, not read per
 * request: at most every SAMPLE_MS, refreshed in the background by the request that finds the
 * sample stale. Between samples the jobs this process admitted are added to the sampled count
 * (a burst is refused before the next sample), and the oldest job's age grows with the clock.
 * A sample older than STALE_MS (the API was idle; the queue may have drained since) is not
 * trusted: the request waits for a fresh one, up to REFRESH_WAIT_MS.
 */
import type { Logger } from 'pino';
import type { QueueDepth } from '../queue/job-queue.js';
import { ApiError } from './errors.js';

export interface OverloadThresholds {
  /** Most jobs waiting for a worker before new ones are refused; 0: no limit. */
  maxQueued: number;
  /** Longest the oldest waiting job may have waited before new ones are refused, ms; 0: no limit. */
  maxAgeMs: number;
}

/** How old a depth sample may be before a request refreshes it (in the background), ms. */
export const SAMPLE_MS = 100;
/** How old a sample may be and still decide; older, the request waits for a fresh one, ms. */
const STALE_MS = 1000;
/** The most a request waits for that fresh sample (Redis slow or down: the enqueue then says so), ms. */
const REFRESH_WAIT_MS = 250;
/** The Retry-After a refusal carries is the oldest job's wait, rounded up, within these bounds (s). */
const RETRY_AFTER_S = { min: 1, max: 30 } as const;

interface Sample extends QueueDepth {
  at: number;
}

export class OverloadGate {
  private sample: Sample | undefined;
  private refreshing: Promise<void> | undefined;
  /** Jobs admitted since the sample was taken. */
  private admitted = 0;

  constructor(
    private readonly thresholds: OverloadThresholds,
    private readonly depth: (now: number) => Promise<QueueDepth>,
    private readonly log?: Logger,
  ) {}

  get enabled(): boolean {
    return this.thresholds.maxQueued > 0 || this.thresholds.maxAgeMs > 0;
  }

  /** Rejects with ApiError 503 `overloaded` when `jobs` more would go past a threshold; otherwise counts them as admitted. */
  async admit(jobs: number): Promise<void> {
    if (!this.enabled) return;
    const age = this.sample === undefined ? Infinity : Date.now() - this.sample.at;
    if (age >= STALE_MS) await this.refreshWithin(REFRESH_WAIT_MS);
    else if (age >= SAMPLE_MS) void this.refresh();
    const now = Date.now();
    const s = this.sample;
    const queued = (s?.queued ?? 0) + this.admitted;
    const oldestAgeMs = s === undefined || s.oldestAgeMs === 0 ? 0 : s.oldestAgeMs + (now - s.at);
    const { maxQueued, maxAgeMs } = this.thresholds;
    const tooMany = maxQueued > 0 && queued + jobs > maxQueued;
    const tooOld = maxAgeMs > 0 && oldestAgeMs > maxAgeMs;
    if (tooMany || tooOld) throw overloaded(queued, oldestAgeMs, this.thresholds, tooMany);
    this.admitted += jobs;
  }

  /** Reads the depth in the background; a failed read keeps the last sample (an unreachable Redis refuses the enqueue itself). */
  private refresh(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    const admittedBefore = this.admitted;
    const at = Date.now();
    this.refreshing = this.depth(at)
      .then((d) => {
        this.sample = { ...d, at };
        // Jobs admitted while the read was out may not be in it yet: keep counting those.
        this.admitted -= admittedBefore;
      })
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

function overloaded(queued: number, oldestAgeMs: number, t: OverloadThresholds, tooMany: boolean): ApiError {
  const why = tooMany ? `${queued} jobs wait for a worker (at most ${t.maxQueued})` : `the oldest waiting job has waited ${Math.round(oldestAgeMs)} ms (at most ${t.maxAgeMs})`;
  const retryS = Math.min(RETRY_AFTER_S.max, Math.max(RETRY_AFTER_S.min, Math.ceil(oldestAgeMs / 1000)));
  return new ApiError(
    503,
    'overloaded',
    `the service is overloaded: ${why}; nothing was recorded; retry after Retry-After seconds`,
    { queued, oldestAgeMs: Math.round(oldestAgeMs) },
    { 'Retry-After': String(retryS) },
  );
}
