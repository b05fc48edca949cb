/** Webhook deliveries in the db: written with the result, attempts recorded with the state, swept when pending. */
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { withDefaults } from '../../contract/limits.js';
import { resultWithoutRun } from '../../contract/result-without-run.js';
import type { DatabaseHandle } from '../../db/client.js';
import { forEachDialect } from '../helpers/databases.js';
import { createJob, deleteJob, finishJob, recordResult } from '../../db/jobs.js';
import { getDelivery, listDeliveries, pendingDeliveriesToSweep, recordAttempt } from '../../db/webhook-deliveries.js';

let handle: DatabaseHandle;

async function job(id: string, webhookUrl: string | null, createdAt = 1000): Promise<void> {
  const image = 'docker.io/library/busybox:latest';
  const request = { id, image, stdinBase64: '', env: {}, files: [], limits: withDefaults(undefined), network: 'none' as const, createdAt };
  await createJob(handle.db, { id, image, request, labels: {}, webhookUrl, createdAt });
}

const ok = resultWithoutRun('nonzero_exit');

forEachDialect('webhook deliveries', (fixture) => {
  before(async () => (handle = await fixture.open()));

  it('are recorded pending with the result of a job that has a webhook, and only once', async () => {
    await job('W1', 'https://example.com/hook');
    assert.deepEqual(await recordResult(handle.db, 'W1', ok, 2000), { deliveryId: 'whd_W1' });
    assert.deepEqual(await getDelivery(handle.db, 'whd_W1'), {
      id: 'whd_W1',
      jobId: 'W1',
      judgeRunId: null,
      event: 'job.finished',
      body: null,
      url: 'https://example.com/hook',
      state: 'pending',
      attempts: 0,
      createdAt: 2000,
      updatedAt: 2000,
    });
    assert.equal(await recordResult(handle.db, 'W1', ok, 3000), undefined, 'a finished job is not finished again');
    assert.equal((await listDeliveries(handle.db, 'W1')).length, 1);
  });

  it('are not recorded for a job without a webhook', async () => {
    await job('W2', null);
    assert.deepEqual(await recordResult(handle.db, 'W2', ok, 2000), { deliveryId: null });
    assert.deepEqual(await listDeliveries(handle.db, 'W2'), []);
  });

  it('come with every path that finishes a job (finishJob: cancels, lost verdicts)', async () => {
    await job('W3', 'https://example.com/hook');
    assert.equal(await finishJob(handle.db, 'W3', resultWithoutRun('lost'), 2000), true);
    assert.equal((await getDelivery(handle.db, 'whd_W3'))?.state, 'pending');
  });

  it('record each attempt with the state after it; a repeated attempt number replaces the first record', async () => {
    const d = (await getDelivery(handle.db, 'whd_W1'))!;
    await recordAttempt(handle.db, d, { attempt: 1, at: 4000, statusCode: 500, latencyMs: 12, error: 'the receiver answered 500' }, 'pending', 4012);
    await recordAttempt(handle.db, d, { attempt: 2, at: 5000, statusCode: null, latencyMs: 30, error: 'x' }, 'pending', 5030);
    await recordAttempt(handle.db, d, { attempt: 2, at: 5100, statusCode: 200, latencyMs: 9, error: null }, 'delivered', 5109);
    const [listed] = await listDeliveries(handle.db, 'W1');
    assert.equal(listed?.state, 'delivered');
    assert.equal(listed?.attempts, 2);
    assert.equal(listed?.updatedAt, 5109);
    assert.deepEqual(
      listed?.attemptLog.map((a) => [a.attempt, a.at, a.statusCode, a.latencyMs, a.error]),
      [
        [1, 4000, 500, 12, 'the receiver answered 500'],
        [2, 5100, 200, 9, null],
      ],
    );
  });

  it('to sweep: pending ones never attempted after a grace, and pending ones untouched for longer than any retry waits', async () => {
    await job('W4', 'https://example.com/hook');
    await recordResult(handle.db, 'W4', ok, 10_000);
    const d4 = (await getDelivery(handle.db, 'whd_W4'))!;
    await recordAttempt(handle.db, d4, { attempt: 1, at: 10_000, statusCode: 500, latencyMs: 1, error: 'e' }, 'pending', 10_001);
    const ids = async (unattemptedBefore: number, staleBefore: number) =>
      (await pendingDeliveriesToSweep(handle.db, { unattemptedBefore, staleBefore, limit: 10 })).map((d) => d.id);
    assert.deepEqual(await ids(2001, 0), ['whd_W3'], 'W3 was never attempted; W1 is delivered; W4 waits for its retry');
    assert.deepEqual(await ids(0, 20_000), ['whd_W3', 'whd_W4']);
  });

  it('go with their job', async () => {
    assert.equal(await deleteJob(handle.db, 'W1'), true);
    assert.equal(await getDelivery(handle.db, 'whd_W1'), undefined);
    assert.deepEqual(await listDeliveries(handle.db, 'W1'), []);
  });
});
