/** Triggers in the db: a trigger keeps its last DELIVERIES_KEPT deliveries, newest first, and takes them with it when deleted. */
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import type { DatabaseHandle } from '../../db/client.js';
import { forEachDialect } from '../helpers/databases.js';
import { createTrigger, deleteTrigger, DELIVERIES_KEPT, getTrigger, lastDeliveries, recordDelivery, setTriggerEnabled } from '../../db/triggers.js';
import type { TriggerRow } from '../../db/schema.js';
import { eq } from 'drizzle-orm';

let handle: DatabaseHandle;

function trigger(id: string): TriggerRow {
  return { id, tenantId: 'local', name: null, template: { image: 'i' }, verification: 'hmac-sha256', secret: 's', passHeaders: [], maxBodyBytes: 10, enabled: true, createdAt: 1 };
}

async function deliver(triggerId: string, n: number): Promise<void> {
  await recordDelivery(handle.db, { triggerId, receivedAt: n, deliveryId: `d${n}`, outcome: 'started', status: 202, jobId: `j${n}` });
}

forEachDialect('triggers', (fixture) => {
  before(async () => (handle = await fixture.open()));

  it(`keeps each trigger's last ${DELIVERIES_KEPT} deliveries, newest first, apart from other triggers'`, async () => {
    await createTrigger(handle.db, trigger('a'));
    await createTrigger(handle.db, trigger('b'));
    for (let n = 1; n <= DELIVERIES_KEPT + 5; n++) await deliver('a', n);
    await deliver('b', 1);
    const kept = (await lastDeliveries(handle.db, 'a')).map((d) => d.deliveryId);
    assert.equal(kept.length, DELIVERIES_KEPT);
    assert.equal(kept[0], `d${DELIVERIES_KEPT + 5}`);
    assert.equal(kept.at(-1), 'd6');
    assert.deepEqual((await lastDeliveries(handle.db, 'b')).map((d) => d.deliveryId), ['d1']);
    const stored = await handle.db.query(async (q) => q.select().from(handle.db.t.triggerDeliveries).where(eq(handle.db.t.triggerDeliveries.triggerId, 'a')));
    assert.equal(stored.length, DELIVERIES_KEPT, 'older deliveries are deleted, not only hidden');
  });

  it('disables and deletes a trigger with its deliveries', async () => {
    assert.equal(await setTriggerEnabled(handle.db, 'b', false), true);
    assert.equal((await getTrigger(handle.db, 'b'))?.enabled, false);
    assert.equal(await deleteTrigger(handle.db, 'b'), true);
    assert.equal(await getTrigger(handle.db, 'b'), undefined);
    assert.deepEqual(await lastDeliveries(handle.db, 'b'), []);
    assert.equal(await deleteTrigger(handle.db, 'b'), false);
    assert.equal(await setTriggerEnabled(handle.db, 'b', true), false);
  });
});
