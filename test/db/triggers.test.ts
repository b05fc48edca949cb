/** Triggers in the db: a trigger keeps its last DELIVERIES_KEPT deliveries, newest first, and takes them with it when deleted. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase, type DatabaseHandle } from '../../db/client.js';
import { createTrigger, deleteTrigger, DELIVERIES_KEPT, getTrigger, lastDeliveries, recordDelivery, setTriggerEnabled } from '../../db/triggers.js';
import { triggerDeliveries, type TriggerRow } from '../../db/schema.js';
import { eq } from 'drizzle-orm';

const dir = mkdtempSync(join(tmpdir(), 'warmbox-triggers-test-'));
let handle: DatabaseHandle;
before(() => (handle = openDatabase(join(dir, 'warmbox.db'))));
after(() => {
  handle?.close();
  rmSync(dir, { recursive: true, force: true });
});

function trigger(id: string): TriggerRow {
  return { id, tenantId: 'local', name: null, template: { image: 'i' }, verification: 'hmac-sha256', secret: 's', passHeaders: [], maxBodyBytes: 10, enabled: true, createdAt: 1 };
}

function deliver(triggerId: string, n: number): void {
  recordDelivery(handle.db, { triggerId, receivedAt: n, deliveryId: `d${n}`, outcome: 'started', status: 202, jobId: `j${n}` });
}

describe('triggers', () => {
  it(`keeps each trigger's last ${DELIVERIES_KEPT} deliveries, newest first, apart from other triggers'`, () => {
    createTrigger(handle.db, trigger('a'));
    createTrigger(handle.db, trigger('b'));
    for (let n = 1; n <= DELIVERIES_KEPT + 5; n++) deliver('a', n);
    deliver('b', 1);
    const kept = lastDeliveries(handle.db, 'a').map((d) => d.deliveryId);
    assert.equal(kept.length, DELIVERIES_KEPT);
    assert.equal(kept[0], `d${DELIVERIES_KEPT + 5}`);
    assert.equal(kept.at(-1), 'd6');
    assert.deepEqual(lastDeliveries(handle.db, 'b').map((d) => d.deliveryId), ['d1']);
    const stored = handle.db.select().from(triggerDeliveries).where(eq(triggerDeliveries.triggerId, 'a')).all();
    assert.equal(stored.length, DELIVERIES_KEPT, 'older deliveries are deleted, not only hidden');
  });

  it('disables and deletes a trigger with its deliveries', () => {
    assert.equal(setTriggerEnabled(handle.db, 'b', false), true);
    assert.equal(getTrigger(handle.db, 'b')?.enabled, false);
    assert.equal(deleteTrigger(handle.db, 'b'), true);
    assert.equal(getTrigger(handle.db, 'b'), undefined);
    assert.deepEqual(lastDeliveries(handle.db, 'b'), []);
    assert.equal(deleteTrigger(handle.db, 'b'), false);
    assert.equal(setTriggerEnabled(handle.db, 'b', true), false);
  });
});
