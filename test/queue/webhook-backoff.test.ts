/** The webhook retry schedule: exponential, jittered, each wait later than the one before until the cap. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BACKOFF_FACTOR, webhookBackoffMs } from '../../queue/webhook-backoff.js';

describe('webhook backoff', () => {
  const settings = { baseMs: 1000, maxMs: 60_000 };

  it('grows by the factor after each failure, half of it random', () => {
    for (let failures = 1; failures <= 3; failures++) {
      const full = 1000 * BACKOFF_FACTOR ** (failures - 1);
      assert.equal(webhookBackoffMs(failures, settings, () => 0), full / 2);
      assert.equal(webhookBackoffMs(failures, settings, () => 1), full);
    }
  });

  it('never waits less after a failure than the longest wait after the one before, until the cap', () => {
    for (let failures = 1; failures < 4; failures++) {
      assert.ok(webhookBackoffMs(failures + 1, settings, () => 0) > webhookBackoffMs(failures, settings, () => 1));
    }
  });

  it('stops growing at the cap', () => {
    assert.equal(webhookBackoffMs(20, settings, () => 1), 60_000);
    assert.equal(webhookBackoffMs(20, settings, () => 0), 30_000);
  });
});
