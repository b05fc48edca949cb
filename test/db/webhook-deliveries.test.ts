/** Webhook deliveries in the db: written with the result, attempts recorded with the state, swept when pending. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { withDefaults } from '../../contract/limits.js';
import { resultWithoutRun } from '../../contract/result-without-run.js';
import { openDatabase, type DatabaseHandle } from '../../db/client.js';
import { createJob, deleteJob, finishJob, recordResult } from '../../db/jobs.js';
import { getDelivery, listDeliveries, pendingDeliveriesToSweep, recordAttempt } from '../../db/webhook-deliveries.js';

const dir = mkdtempSync(join(tmpdir(), 'warmbox-db-test-'));
let handle: DatabaseHandle;
before(() => {
  handle = openDatabase(join(dir, 'warmbox.db'));
});
after(() => {
  handle?.close();
  rmSync(dir, { recursive: true, force: true });
});

function job(id: string, webhookUrl: string | null, createdAt = 1000): void {
  const image = 'docker.io/library/busybox:latest';
  const request = { id, image, stdinBase64: '', env: {}, files: [], limits: withDefaults(undefined), network: 'none' as const, createdAt };
  createJob(handle.db, { id, image, request, labels: {}, webhookUrl, createdAt });
}

const ok = resultWithoutRun('nonzero_exit');

describe('webhook deliveries', () => {
  it('are recorded pending with the result of a job that has a webhook, and only once', () => {
    job('W1', 'https://example.com/hook');
    assert.deepEqual(recordResult(handle.db, 'W1', ok, 2000), { deliveryId: 'whd_W1' });
    assert.deepEqual(getDelivery(handle.db, 'whd_W1'), {
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
    assert.equal(recordResult(handle.db, 'W1', ok, 3000), undefined, 'a finished job is not finished again');
    assert.equal(listDeliveries(handle.db, 'W1').length, 1);
  });

  it('are not recorded for a job without a webhook', () => {
    job('W2', null);
    assert.deepEqual(recordResult(handle.db, 'W2', ok, 2000), { deliveryId: null });
    assert.deepEqual(listDeliveries(handle.db, 'W2'), []);
  });

  it('come with every path that finishes a job (finishJob: cancels, lost verdicts)', () => {
    job('W3', 'https://example.com/hook');
    assert.equal(finishJob(handle.db, 'W3', resultWithoutRun('lost'), 2000), true);
    assert.equal(getDelivery(handle.db, 'whd_W3')?.state, 'pending');
  });

  it('record each attempt with the state after it; a repeated attempt number replaces the first record', () => {
    const d = getDelivery(handle.db, 'whd_W1')!;
    recordAttempt(handle.db, d, { attempt: 1, at: 4000, statusCode: 500, latencyMs: 12, error: 'the receiver answered 500' }, 'pending', 4012);
    recordAttempt(handle.db, d, { attempt: 2, at: 5000, statusCode: null, latencyMs: 30, error: 'x' }, 'pending', 5030);
    recordAttempt(handle.db, d, { attempt: 2, at: 5100, statusCode: 200, latencyMs: 9, error: null }, 'delivered', 5109);
    const [listed] = listDeliveries(handle.db, 'W1');
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

  it('to sweep: pending ones never attempted after a grace, and pending ones untouched for longer than any retry waits', () => {
    job('W4', 'https://example.com/hook');
    recordResult(handle.db, 'W4', ok, 10_000);
    const d4 = getDelivery(handle.db, 'whd_W4')!;
    recordAttempt(handle.db, d4, { attempt: 1, at: 10_000, statusCode: 500, latencyMs: 1, error: 'e' }, 'pending', 10_001);
    const ids = (unattemptedBefore: number, staleBefore: number) =>
      pendingDeliveriesToSweep(handle.db, { unattemptedBefore, staleBefore, limit: 10 }).map((d) => d.id);
    assert.deepEqual(ids(2001, 0), ['whd_W3'], 'W3 was never attempted; W1 is delivered; W4 waits for its retry');
    assert.deepEqual(ids(0, 20_000), ['whd_W3', 'whd_W4']);
  });

  it('go with their job', () => {
    assert.equal(deleteJob(handle.db, 'W1'), true);
    assert.equal(getDelivery(handle.db, 'whd_W1'), undefined);
    assert.deepEqual(listDeliveries(handle.db, 'W1'), []);
  });
});
