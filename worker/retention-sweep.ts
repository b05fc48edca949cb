/**
 * Retention (README "Quotas"): every interval, in whichever process holds the retention lock, each
 * tenant's finished jobs older than its retention are deleted (with their output and webhook
 * deliveries), and expired Idempotency-Key records with them. In batches of BATCH rows, yielding to
 * the event loop between batches; a sweep stops after MAX_PER_SWEEP rows and the next goes on.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { WarmboxDb } from '../db/client.js';
import { pruneFinishedJobs, pruneIdempotencyKeyBatch, type RetentionScope } from '../db/job-retention.js';
import { acquireLock } from '../queue/reconcile-lock.js';
import { RETENTION_LOCK } from '../queue/redis-keys.js';

const BATCH = 500;
const MAX_PER_SWEEP = 50_000;
const LOCK_TTL_MS = 5 * 60_000;
/** How often retention is applied: finished jobs outlive their retention by up to this much. */
export const RETENTION_SWEEP_INTERVAL_MS = 10 * 60_000;

export interface RetentionSweepOptions {
  db: WarmboxDb;
  /** Shared, never closed here. */
  redis: Redis;
  log: Logger;
  /** Every tenant with a retention of its own (seconds; null: the default), the local tenant included. */
  tenants: () => Promise<{ id: string; retentionSeconds: number | null }[]>;
  /** For tenants whose policy sets none, and jobs of tenants deleted since; null: kept. */
  defaultSeconds: number | null;
  /** How long an Idempotency-Key is answered (api/idempotency.ts): older records go. */
  idempotencyKeyTtlMs: number;
  intervalMs?: number;
}

export interface RetentionCounts {
  jobs: number;
  idempotencyKeys: number;
}

export class RetentionSweep {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<unknown> | undefined;
  private closed = false;

  constructor(private readonly opts: RetentionSweepOptions) {}

  /** Sweeps at once, then every interval. */
  static start(opts: RetentionSweepOptions): RetentionSweep {
    const s = new RetentionSweep(opts);
    s.schedule(0);
    return s;
  }

  /** One sweep as of `now`; undefined when another process holds the lock. */
  async sweep(now = Date.now()): Promise<RetentionCounts | undefined> {
    const lock = await acquireLock(this.opts.redis, RETENTION_LOCK, LOCK_TTL_MS);
    if (lock === undefined) return undefined;
    try {
      const counts: RetentionCounts = { jobs: 0, idempotencyKeys: 0 };
      const tenants = await this.opts.tenants();
      const scopes: [RetentionScope, number | null][] = tenants.map((t) => [{ tenantId: t.id }, t.retentionSeconds ?? this.opts.defaultSeconds]);
      scopes.push([{ exceptTenantIds: tenants.map((t) => t.id) }, this.opts.defaultSeconds]);
      for (const [scope, seconds] of scopes) {
        if (seconds !== null) counts.jobs += await this.inBatches(counts, (limit) => pruneFinishedJobs(this.opts.db, scope, now - seconds * 1000, limit));
      }
      counts.idempotencyKeys = await this.inBatches(counts, (limit) => pruneIdempotencyKeyBatch(this.opts.db, now - this.opts.idempotencyKeyTtlMs, limit));
      if (counts.jobs + counts.idempotencyKeys > 0) this.opts.log.info({ retention: counts }, 'retention: pruned finished jobs past their tenant\'s retention');
      return counts;
    } finally {
      await lock.release();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.current;
  }

  /** Batches until one comes back short or the sweep's budget is spent; returns the rows deleted. */
  private async inBatches(counts: RetentionCounts, batch: (limit: number) => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      const budget = MAX_PER_SWEEP - counts.jobs - counts.idempotencyKeys - total;
      if (budget <= 0 || this.closed) return total;
      const n = await batch(Math.min(BATCH, budget));
      total += n;
      if (n < Math.min(BATCH, budget)) return total;
      await yieldToEventLoop();
    }
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.current = this.sweep()
        .catch((err) => this.opts.log.warn({ err }, 'retention sweep failed; the next one tries again'))
        .finally(() => this.schedule(this.opts.intervalMs ?? RETENTION_SWEEP_INTERVAL_MS));
    }, delayMs);
    this.timer.unref();
  }
}
