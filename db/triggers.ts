/** Queries on `triggers` and `trigger_deliveries`. A trigger's deliveries go with it. */
import { and, desc, eq, lt } from 'drizzle-orm';
import { changesOf, first, type WarmboxDb } from './database.js';
import { DbWriteError } from './db-write-error.js';
import type { TriggerDeliveryRow, TriggerRow } from './schema.js';

export type NewTrigger = TriggerRow;
export type NewDelivery = Omit<TriggerDeliveryRow, 'seq'>;

/** How many deliveries are kept per trigger: older ones are deleted as new ones come. */
export const DELIVERIES_KEPT = 20;

export async function createTrigger(db: WarmboxDb, trigger: NewTrigger): Promise<void> {
  const { triggers } = db.t;
  try {
    await db.query(async (q) => q.insert(triggers).values(trigger));
  } catch (err) {
    throw DbWriteError.from(err);
  }
}

export function getTrigger(db: WarmboxDb, id: string): Promise<TriggerRow | undefined> {
  const { triggers } = db.t;
  return db.query(async (q) => first(await q.select().from(triggers).where(eq(triggers.id, id)).limit(1)));
}

/** Oldest first; one tenant's, or every tenant's. */
export function listTriggers(db: WarmboxDb, tenantId?: string): Promise<TriggerRow[]> {
  const { triggers } = db.t;
  return db.query(async (q) => {
    const query = q.select().from(triggers);
    return (tenantId === undefined ? query : query.where(eq(triggers.tenantId, tenantId))).orderBy(triggers.createdAt, triggers.id);
  });
}

/** Returns false when there is no such trigger. */
export function setTriggerEnabled(db: WarmboxDb, id: string, enabled: boolean): Promise<boolean> {
  const { triggers } = db.t;
  return db.query(async (q) => changesOf(await q.update(triggers).set({ enabled }).where(eq(triggers.id, id))) === 1);
}

/** Deletes the trigger and its deliveries; returns false when there was none. */
export function deleteTrigger(db: WarmboxDb, id: string): Promise<boolean> {
  const { triggerDeliveries, triggers } = db.t;
  return db.transaction((tx) =>
    tx.query(async (q) => {
      await q.delete(triggerDeliveries).where(eq(triggerDeliveries.triggerId, id));
      return changesOf(await q.delete(triggers).where(eq(triggers.id, id))) === 1;
    }),
  );
}

/** Records a delivery and drops the trigger's deliveries beyond the newest DELIVERIES_KEPT. */
export async function recordDelivery(db: WarmboxDb, delivery: NewDelivery): Promise<void> {
  const { triggerDeliveries } = db.t;
  await db.transaction((tx) =>
    tx.query(async (q) => {
      await q.insert(triggerDeliveries).values(delivery);
      const oldestKept = first(
        await q
          .select({ seq: triggerDeliveries.seq })
          .from(triggerDeliveries)
          .where(eq(triggerDeliveries.triggerId, delivery.triggerId))
          .orderBy(desc(triggerDeliveries.seq))
          .limit(1)
          .offset(DELIVERIES_KEPT - 1),
      );
      if (oldestKept !== undefined) {
        await q.delete(triggerDeliveries).where(and(eq(triggerDeliveries.triggerId, delivery.triggerId), lt(triggerDeliveries.seq, oldestKept.seq)));
      }
    }),
  );
}

/** Newest first, at most DELIVERIES_KEPT. */
export function lastDeliveries(db: WarmboxDb, triggerId: string): Promise<TriggerDeliveryRow[]> {
  const { triggerDeliveries } = db.t;
  return db.query(async (q) => q.select().from(triggerDeliveries).where(eq(triggerDeliveries.triggerId, triggerId)).orderBy(desc(triggerDeliveries.seq)).limit(DELIVERIES_KEPT));
}
