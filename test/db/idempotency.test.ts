/** Idempotency keys in the db: one claim per live key, an expired one is taken over, and a day-old one is pruned. */
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import type { DatabaseHandle } from '../../db/client.js';
import { forEachDialect } from '../helpers/databases.js';
import { claimIdempotencyKey, completeIdempotencyKey, findIdempotencyKey, pruneIdempotencyKeys } from '../../db/idempotency.js';
import { createJobs, DbConflict, getJob } from '../../db/jobs.js';
import { DEFAULT_LIMITS } from '../../contract/limits.js';

let handle: DatabaseHandle;

const DAY = 24 * 3600 * 1000;

function newJob(id: string) {
  return { id, image: 'i', request: { id, image: 'i', stdinBase64: '', env: {}, files: [], limits: { ...DEFAULT_LIMITS }, network: 'none' as const, createdAt: 1 }, labels: {}, createdAt: 1 };
}

async function submit(key: string, ids: string[], at: number): Promise<void> {
  await createJobs(handle.db, ids.map(newJob), (tx) => claimIdempotencyKey(tx, { key, requestHash: 'h', jobIds: ids, createdAt: at }, at - DAY));
}

forEachDialect('idempotency keys', (fixture) => {
  before(async () => (handle = await fixture.open()));

  it('records a key with its jobs in one transaction; a second claim of a live key rolls its jobs back', async () => {
    await submit('k1', ['A1', 'A2'], 10 * DAY);
    assert.deepEqual((await findIdempotencyKey(handle.db, 'k1', 9 * DAY))?.jobIds, ['A1', 'A2']);
    await assert.rejects(submit('k1', ['B1'], 10 * DAY + 1), DbConflict);
    assert.equal(await getJob(handle.db, 'B1'), undefined, 'the loser recorded nothing');
    await completeIdempotencyKey(handle.db, 'k1', 10 * DAY + 2);
    assert.equal((await findIdempotencyKey(handle.db, 'k1', 9 * DAY))?.completedAt, 10 * DAY + 2);
  });

  it('treats a key older than a day as free, and prunes it', async () => {
    await submit('k2', ['C1'], 1 * DAY);
    assert.equal(await findIdempotencyKey(handle.db, 'k2', 2 * DAY + 1), undefined, 'expired');
    await submit('k2', ['C2'], 2 * DAY + 1);
    assert.deepEqual((await findIdempotencyKey(handle.db, 'k2', 2 * DAY))?.jobIds, ['C2']);
    assert.equal(await pruneIdempotencyKeys(handle.db, 3 * DAY + 2), 1, 'k2 (day 2) pruned; k1 (day 10) kept');
    assert.ok(await findIdempotencyKey(handle.db, 'k1', 0));
  });
});
