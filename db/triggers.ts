/** Queries on `triggers` and `trigger_deliveries`. A trigger's deliveries go with it. */
import { and, desc, eq, lt } from 'drizzle-orm';
import type { WarmboxDb } from './client.js';
import { DbWriteError } from './db-write-error.js';
import { triggerDeliveries, triggers, type TriggerDeliveryRow, type TriggerRow } from './schema.js';

export type NewTrigger = TriggerRow;
export type NewDelivery = Omit<TriggerDeliveryRow, 'seq'>;

/** How many deliveries are kept per trigger: older ones are deleted as new ones come. */
export const DELIVERIES_KEPT = 20;

export function createTrigger(db: WarmboxDb, trigger: NewTrigger): void {
  try {
    db.insert(triggers).values(trigger).run();
  } catch (err) {
    throw DbWriteError.from(err);
  }
}

export function getTrigger(db: WarmboxDb, id: string): TriggerRow | undefined {
  return db.select().from(triggers).where(eq(triggers.id, id)).get();
}

/** Oldest first; one tenant's, or every tenant's. */
export function listTriggers(db: WarmboxDb, tenantId?: string): TriggerRow[] {
  const query = db.select().from(triggers);
  return (tenantId === undefined ? query : query.where(eq(triggers.tenantId, tenantId))).orderBy(triggers.createdAt, triggers.id).all();
}

/** Returns false when there is no such trigger. */
export function setTriggerEnabled(db: WarmboxDb, id: string, enabled: boolean): boolean {
  return db.update(triggers).set({ enabled }).where(eq(triggers.id, id)).run().changes === 1;
}

/** Deletes the trigger and its deliveries; returns false when there was none. */
export function deleteTrigger(db: WarmboxDb, id: string): boolean {
  return db.transaction((tx) => {
    tx.delete(triggerDeliveries).where(eq(triggerDeliveries.triggerId, id)).run();
    return tx.delete(triggers).where(eq(triggers.id, id)).run().changes === 1;
  });
}

/** Records a delivery and drops the trigger's deliveries beyond the newest DELIVERIES_KEPT. */
export function recordDelivery(db: WarmboxDb, delivery: NewDelivery): void {
  db.transaction((tx) => {
    tx.insert(triggerDeliveries).values(delivery).run();
    const oldestKept = tx
      .select({ seq: triggerDeliveries.seq })
      .from(triggerDeliveries)
      .where(eq(triggerDeliveries.triggerId, delivery.triggerId))
      .orderBy(desc(triggerDeliveries.seq))
      .limit(1)
      .offset(DELIVERIES_KEPT - 1)
      .get();
    if (oldestKept !== undefined) {
      tx.delete(triggerDeliveries).where(and(eq(triggerDeliveries.triggerId, delivery.triggerId), lt(triggerDeliveries.seq, oldestKept.seq))).run();
    }
  });
}

/** Newest first, at most DELIVERIES_KEPT. */
export function lastDeliveries(db: WarmboxDb, triggerId: string): TriggerDeliveryRow[] {
  return db.select().from(triggerDeliveries).where(eq(triggerDeliveries.triggerId, triggerId)).orderBy(desc(triggerDeliveries.seq)).limit(DELIVERIES_KEPT).all();
}
