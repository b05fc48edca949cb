/** Queries on webhook deliveries and their attempts (db/schema.ts). */
import { and, asc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import { JOB_FINISHED_EVENT } from '../contract/webhook-signature.js';
import type { WarmboxDb } from './client.js';
import { webhookAttempts, webhookDeliveries, type AttemptRow, type DeliveryRow, type DeliveryState } from './schema.js';

/** One delivery per job so far (its result): its id follows from the job's, so queueing it twice is harmless. */
export function deliveryIdOf(jobId: string): string {
  return `whd_${jobId}`;
}

/** A judge run's deliveries: its webhook's (`whr_`) and its Judge0 `callback_url`'s (`whc_`), one each at most. */
export function runDeliveryIdOf(runId: string, kind: 'webhook' | 'judge0_callback'): string {
  return `${kind === 'webhook' ? 'whr' : 'whc'}_${runId}`;
}

/** The id of what a delivery reports: its job's, or its judge run's. */
export function subjectIdOf(delivery: DeliveryRow): string {
  return delivery.jobId ?? delivery.judgeRunId ?? '';
}

/** Records a job's delivery as pending; called inside finishJob's transaction. Returns its id. */
export function recordPendingDelivery(db: WarmboxDb, jobId: string, url: string, at: number): string {
  const id = deliveryIdOf(jobId);
  db.insert(webhookDeliveries)
    .values({ id, jobId, event: JOB_FINISHED_EVENT, url, state: 'pending', attempts: 0, createdAt: at, updatedAt: at })
    .onConflictDoNothing()
    .run();
  return id;
}

export function getDelivery(db: WarmboxDb, id: string): DeliveryRow | undefined {
  return db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id)).get();
}

export interface AttemptRecord {
  attempt: number;
  at: number;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

/**
 * Records one attempt and the delivery's state after it, together. A repeated attempt number (the
 * process died after recording it, and the queue ran it again) replaces the first record.
 */
export function recordAttempt(db: WarmboxDb, delivery: DeliveryRow, attempt: AttemptRecord, state: DeliveryState, now: number): void {
  db.transaction((tx) => {
    tx.insert(webhookAttempts)
      .values({ deliveryId: delivery.id, jobId: subjectIdOf(delivery), ...attempt })
      .onConflictDoUpdate({
        target: [webhookAttempts.deliveryId, webhookAttempts.attempt],
        set: { at: attempt.at, statusCode: attempt.statusCode, latencyMs: attempt.latencyMs, error: attempt.error },
      })
      .run();
    tx.update(webhookDeliveries)
      .set({ state, attempts: sql`max(${webhookDeliveries.attempts}, ${attempt.attempt})`, updatedAt: now })
      .where(eq(webhookDeliveries.id, delivery.id))
      .run();
  });
}

export interface DeliveryWithAttempts extends DeliveryRow {
  attemptLog: AttemptRow[];
}

/** A job's deliveries (or a judge run's: `{ judgeRunId }`), oldest first, each with its attempts in order. */
export function listDeliveries(db: WarmboxDb, subject: string | { judgeRunId: string }): DeliveryWithAttempts[] {
  const of = typeof subject === 'string' ? eq(webhookDeliveries.jobId, subject) : eq(webhookDeliveries.judgeRunId, subject.judgeRunId);
  const deliveries = db.select().from(webhookDeliveries).where(of).orderBy(asc(webhookDeliveries.createdAt), asc(webhookDeliveries.id)).all();
  if (deliveries.length === 0) return [];
  const attempts = db
    .select()
    .from(webhookAttempts)
    .where(inArray(webhookAttempts.deliveryId, deliveries.map((d) => d.id)))
    .orderBy(asc(webhookAttempts.attempt))
    .all();
  return deliveries.map((d) => ({ ...d, attemptLog: attempts.filter((a) => a.deliveryId === d.id) }));
}

/**
 * Pending deliveries that may not be in the queue: never attempted and older than `unattemptedBefore`
 * (their enqueue may have been lost to a crash or a Redis outage), or last touched before
 * `staleBefore` (longer ago than any retry waits). Oldest first, at most `limit`.
 */
export function pendingDeliveriesToSweep(db: WarmboxDb, opts: { unattemptedBefore: number; staleBefore: number; limit: number }): DeliveryRow[] {
  return db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.state, 'pending'),
        or(and(eq(webhookDeliveries.attempts, 0), lt(webhookDeliveries.createdAt, opts.unattemptedBefore)), lt(webhookDeliveries.updatedAt, opts.staleBefore)),
      ),
    )
    .orderBy(asc(webhookDeliveries.updatedAt))
    .limit(opts.limit)
    .all();
}
