/**
 * Reconciles the db with the jobs queue, at start-up and then every interval, in whichever process
 * holds the reconcile lock (any role: an API-only deployment sweeps too). The rules (README "When
 * things fail"):
 *
 *   queued, older than the grace, and BullMQ holds no live copy (Redis lost it, or its worker died
 *     before it started it: markRunning comes before a sandbox is acquired, so the job never ran)
 *     → re-queued under its own id. The worker's claim (queued → running, db/jobs.ts markRunning)
 *     makes it run once even if an old copy turns up.
 *   running, and BullMQ does not hold it as active with a live worker (Redis lost it, its worker
 *     died: the lock expired or, on this host, the process is gone and its heartbeat with it)
 *     → finished `lost`, its `error` saying why, published like any finish. Never run again.
 *   active in BullMQ with no lock and finished in the db → the dead copy is taken out, so the
 *     queue's counts are right even when no worker runs BullMQ's stalled check.
 *
 * Every write is guarded (finish only an unfinished row, claim only a queued one), so a sweep and
 * a worker that turns out to be alive never overwrite each other's verdict: the first one wins.
 */
import { hostname as osHostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { resultWithoutRun } from '../contract/result-without-run.js';
import type { WarmboxDb } from '../db/client.js';
import { getJob, listUnfinishedJobs, type UnfinishedJob } from '../db/jobs.js';
import { JobQueueAudit, type QueuedJobView } from '../queue/job-queue-audit.js';
import { PoolRegistry } from '../queue/pool-registry.js';
import { acquireReconcileLock } from '../queue/reconcile-lock.js';
import { releaseRunningSlot } from '../queue/running-slots.js';
import type { WebhookQueue } from '../queue/webhook-queue.js';
import { finishJobAndAnnounce } from './job-finish.js';

/** The most unfinished jobs one sweep looks at (oldest first); the next sweep goes on. */
const MAX_JOBS_PER_SWEEP = 10_000;
/** How long the lock holds if its holder dies mid-sweep; released as soon as a sweep ends. */
const LOCK_TTL_MS = 60_000;
/** How long close() waits for a sweep under way. */
const CLOSE_WAIT_MS = 2000;

export interface JobReconcilerOptions {
  db: WarmboxDb;
  /** Shared, never closed here. */
  redis: Redis;
  log: Logger;
  intervalMs: number;
  /** A queued job younger than this is left alone: it may be between its db insert and its enqueue. */
  graceMs: number;
  /** Whether this process's own worker is running the job now: then it is alive, whatever Redis says. */
  runsHere?: (id: string) => boolean;
  /** Called once a job is finished `lost` (an API in this process wakes its waiters). */
  onFinished?: (id: string) => void;
  /** Where a lost job's webhook delivery is queued; absent: the webhook sweep queues it. */
  webhooks?: WebhookQueue;
}

export interface SweepCounts {
  /** Unfinished jobs compared with the queue. */
  checked: number;
  requeued: number;
  lost: number;
  /** Dead copies taken out of BullMQ's active list. */
  removed: number;
}

export class JobReconciler {
  /** Since start: what every sweep of this process did. */
  readonly totals = { sweeps: 0, checked: 0, requeued: 0, lost: 0, removed: 0 };
  private readonly audit: JobQueueAudit;
  private readonly registry: PoolRegistry;
  private readonly host = osHostname();
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<unknown> | undefined;
  private closed = false;

  /** Sweeps only when told (sweep()); start() also sweeps on its own. */
  constructor(private readonly opts: JobReconcilerOptions) {
    this.audit = new JobQueueAudit(opts.redis);
    this.registry = new PoolRegistry(opts.redis);
  }

  /** Sweeps at once, then every intervalMs. */
  static start(opts: JobReconcilerOptions): JobReconciler {
    const r = new JobReconciler(opts);
    r.schedule(0);
    return r;
  }

  /** One sweep; undefined when another process holds the lock. */
  async sweep(now = Date.now()): Promise<SweepCounts | undefined> {
    const lock = await acquireReconcileLock(this.opts.redis, LOCK_TTL_MS);
    if (lock === undefined) return undefined;
    try {
      const counts: SweepCounts = { checked: 0, requeued: 0, lost: 0, removed: 0 };
      const jobs = await listUnfinishedJobs(this.opts.db, now - this.opts.graceMs, MAX_JOBS_PER_SWEEP);
      const held = await this.audit.held();
      // A stalled copy is still in `wait`, yet no worker will run it.
      const stalled = await this.audit.stalled(jobs.filter((j) => j.status === 'queued' && held.has(j.id)).map((j) => j.id));
      const live = new Set((await this.registry.listStatuses()).map((s) => s.id));
      for (const job of jobs) {
        counts.checked++;
        if (job.status === 'queued') {
          if (!held.has(job.id) || stalled.has(job.id)) await this.checkQueued(job, counts);
        } else if (!this.opts.runsHere?.(job.id)) {
          await this.checkRunning(job, live, counts);
        }
      }
      await this.removeDeadCopies(new Set(jobs.map((j) => j.id)), counts);
      this.count(counts);
      return counts;
    } finally {
      await lock.release();
    }
  }

  /** Stops sweeping; a sweep under way gets a moment to end (it may wait on an unreachable Redis). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await Promise.race([this.current, new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref())]);
    await this.audit.close();
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.current = this.sweep()
        .catch((err) => this.opts.log.warn({ err }, 'reconcile sweep failed; the next one tries again'))
        .finally(() => this.schedule(this.opts.intervalMs));
    }, delayMs);
    this.timer.unref();
  }

  /** Rule 1: a queued job with no live copy in BullMQ never reached a sandbox; it is queued again. */
  private async checkQueued(job: UnfinishedJob, counts: SweepCounts): Promise<void> {
    const view = await this.audit.view(job.id);
    if (!view.dead) return; // held after all (it moved between lists), or completed
    const row = await getJob(this.opts.db, job.id);
    if (row?.status !== 'queued') return; // a worker claimed or finished it meanwhile
    if (!(await this.audit.requeue(row.request))) return;
    counts.requeued++;
    const worker = view.worker === undefined ? 'its worker' : `its worker (${view.worker})`;
    const cause = view.state === 'missing' ? 'Redis lost it before a worker started it' : `${worker} stopped before it reached a sandbox`;
    this.opts.log.warn({ job: job.id, rule: 'requeue', cause, bullmq: view.state }, `reconcile: re-queued job ${job.id}, which never reached a sandbox (${cause})`);
  }

  /** Rule 2: a running job no live worker holds is finished `lost`; it is never run again. */
  private async checkRunning(job: UnfinishedJob, live: Set<string>, counts: SweepCounts): Promise<void> {
    const view = await this.audit.view(job.id);
    if (view.state === 'completed') return; // its worker recorded it a moment ago
    if (view.state === 'active' && !view.dead && !this.workerGone(view.worker, live)) return;
    const error = lossCause(view);
    if (!(await this.finishLost(job.id, error))) return;
    counts.lost++;
    this.opts.log.warn({ job: job.id, rule: 'lost', cause: error, bullmq: view.state }, `reconcile: job ${job.id} finished lost: ${error}`);
    // Its tenant's running slot, if it held one, comes back now rather than when its lease ends.
    const tenantId = (await getJob(this.opts.db, job.id))?.tenantId;
    if (tenantId !== undefined) await releaseRunningSlot(this.opts.redis, tenantId, job.id);
    // A stalled copy in wait, or one active without a lock, would sit there until a worker fails it.
    if (view.state !== 'failed' && view.state !== 'missing') await this.audit.removeUnlocked(job.id);
  }

  /** Rule 3: copies left active by dead workers, whose jobs the db has finished (or never had). */
  private async removeDeadCopies(checked: Set<string>, counts: SweepCounts): Promise<void> {
    for (const id of await this.audit.active()) {
      if (checked.has(id)) continue;
      const view = await this.audit.view(id);
      if (view.state !== 'active' || !view.dead) continue;
      const row = await getJob(this.opts.db, id);
      if (row !== undefined && row.status !== 'finished') continue; // rule 1 or 2 once it is old enough
      if (!(await this.audit.removeUnlocked(id))) continue;
      counts.removed++;
      this.opts.log.info({ job: id, rule: 'remove', bullmq: view.state }, `reconcile: took out job ${id}'s copy that a dead worker left active`);
    }
  }

  /** Recorded, announced and its webhook queued like any other finish (worker/job-finish.ts). */
  private finishLost(id: string, error: string): Promise<boolean> {
    return finishJobAndAnnounce(this.opts, id, { ...resultWithoutRun('lost'), error });
  }

  /**
   * Faster than waiting for its lock to expire: a worker of this host whose process is gone and
   * whose heartbeat (the pool registry, every second) has stopped. Workers of other hosts are
   * judged by their lock alone.
   */
  private workerGone(worker: string | undefined, live: Set<string>): boolean {
    if (worker === undefined || live.has(worker) || !worker.startsWith(`${this.host}-`)) return false;
    const pid = Number(worker.slice(this.host.length + 1));
    return Number.isInteger(pid) && pid > 0 && !processExists(pid);
  }

  private count(counts: SweepCounts): void {
    this.totals.sweeps++;
    this.totals.checked += counts.checked;
    this.totals.requeued += counts.requeued;
    this.totals.lost += counts.lost;
    this.totals.removed += counts.removed;
    if (counts.requeued + counts.lost + counts.removed > 0) this.opts.log.info({ reconcile: counts, totals: this.totals }, 'reconcile sweep repaired jobs');
  }
}

/** The `error` of a lost job: what cut its run off. */
function lossCause(view: QueuedJobView): string {
  if (view.state === 'missing') return 'Redis lost the job while it ran';
  const stalled = view.state === 'active' || view.reason === undefined || /stalled/.test(view.reason);
  if (stalled) return `${workerName(view)} stopped before it ended`;
  return `the queue failed it while it ran, before its result was recorded: ${view.reason}`;
}

function workerName(view: QueuedJobView): string {
  return view.worker === undefined ? 'the worker running it' : `the worker running it (${view.worker})`;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
