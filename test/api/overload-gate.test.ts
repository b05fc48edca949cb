/**
 * The overload gate's prediction, driven by a queue depth and a clock the test controls (the gate
 * is the thing under test; the depth is its input: what JobQueue.depth reads from Redis, covered
 * in test/queue/job-queue.test.ts and end to end in test/e2e/overload.test.ts). Each step moves the
 * clock past the gate's stale limit (1 s), so the next admit reads the depth before it decides.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OverloadGate, type OverloadThresholds } from '../../api/overload-gate.js';
import { ApiError } from '../../api/errors.js';
import type { QueueDepth } from '../../queue/job-queue.js';

const STEP_MS = 1000;

class Rig {
  now = 1_000_000;
  depth: QueueDepth = { queued: 0, running: 0, oldestAgeMs: 0, added: 0 };
  readonly gate: OverloadGate;

  constructor(thresholds: OverloadThresholds) {
    this.gate = new OverloadGate(thresholds, () => Promise.resolve({ ...this.depth }), undefined, () => this.now);
  }

  /** The queue as the next sample finds it, one step later. */
  step(depth: Partial<QueueDepth>): void {
    this.now += STEP_MS;
    this.depth = { ...this.depth, ...depth };
  }

  /** Admits one job at a time until one is refused: how many were admitted, and the refusal. */
  async admitUntilRefused(limit = 10_000): Promise<{ admitted: number; refusal: ApiError | undefined }> {
    for (let admitted = 0; admitted < limit; admitted++) {
      try {
        await this.gate.admit(1);
      } catch (err) {
        assert.ok(err instanceof ApiError);
        return { admitted, refusal: err };
      }
    }
    return { admitted: limit, refusal: undefined };
  }
}

/**
 * Two samples 1 s apart with `queued` waiting at both, while 100 jobs were added (by this gate, or
 * by `others`) and as many taken: a drain rate of 100 jobs/s.
 */
async function drainingAt100PerS(rig: Rig, queued: number, by: 'this gate' | 'others' = 'this gate'): Promise<void> {
  rig.depth = { queued, running: 8, oldestAgeMs: 5, added: 0 };
  await rig.gate.admit(0);
  if (by === 'this gate') await rig.gate.admit(100); // no rate yet: the oldest job's 5 ms decides
  rig.step({ added: 100 });
  await rig.gate.admit(0);
}

describe('OverloadGate', () => {
  it('admits about as many jobs as the workers drain within the bound: (jobs ahead) / (drain rate)', async () => {
    const rig = new Rig({ maxQueued: 0, maxAgeMs: 100 });
    await drainingAt100PerS(rig, 4);
    // 4 wait; at 100 jobs/s a job may have at most 10 ahead of it (100 ms): those with 4 to 10 ahead are admitted.
    const { admitted, refusal } = await rig.admitUntilRefused();
    assert.equal(admitted, 7);
    assert.equal(refusal?.status, 503);
    assert.equal(refusal?.code, 'overloaded');
    assert.equal(refusal?.details.waitMs, 110);
    assert.equal(refusal?.headers['Retry-After'], '1');
    assert.match(refusal?.message ?? '', /would wait about 110 ms for a worker \(at most 100\)/);

    // 30 ms later (within the sample's life) the workers took about 3 more: that many are admitted.
    rig.now += 30;
    assert.equal((await rig.admitUntilRefused()).admitted, 3);
  });

  it('a batch is judged by its first job: admitted while the jobs ahead of it are within the bound', async () => {
    const rig = new Rig({ maxQueued: 0, maxAgeMs: 100 });
    await drainingAt100PerS(rig, 4);
    await rig.gate.admit(50); // 4 ahead of its first job
    await assert.rejects(rig.gate.admit(1), { code: 'overloaded' });
  });

  it('an idle queue admits every job, whatever the drain rate', async () => {
    const rig = new Rig({ maxQueued: 0, maxAgeMs: 100 });
    await drainingAt100PerS(rig, 4);
    rig.step({ queued: 0, oldestAgeMs: 0, added: 200 });
    assert.equal((await rig.admitUntilRefused(500)).admitted, 500);
  });

  it('workers that take nothing (a burst not reached yet, stuck workers) are judged by the oldest job\'s wait, not refused for ever', async () => {
    // What a multi-host test met: a burst of 20 jobs waiting 159 ms, none taken yet, a 60 s bound.
    const rig = new Rig({ maxQueued: 0, maxAgeMs: 60_000 });
    rig.depth = { queued: 20, running: 8, oldestAgeMs: 59, added: 20 };
    await rig.gate.admit(0);
    rig.now += 100;
    rig.depth = { ...rig.depth, oldestAgeMs: 159 };
    await rig.gate.admit(0); // the sample: nothing taken over the interval
    assert.equal((await rig.admitUntilRefused(50)).admitted, 50, 'the oldest has waited 159 ms of 60 s');
    // Stuck for good: nothing is taken, so the oldest job's wait decides once it passes the bound.
    rig.step({ oldestAgeMs: 60_001 });
    const { admitted, refusal } = await rig.admitUntilRefused();
    assert.equal(admitted, 0);
    assert.equal(refusal?.details.oldestAgeMs, 60_001);
    assert.equal(refusal?.headers['Retry-After'], '30');
  });

  it('trusts a drain rate only after a second of busy workers: one short interval decides nothing', async () => {
    const rig = new Rig({ maxQueued: 0, maxAgeMs: 1000 });
    rig.depth = { queued: 50, running: 8, oldestAgeMs: 10, added: 50 };
    await rig.gate.admit(0);
    rig.now += 100;
    rig.depth = { ...rig.depth, queued: 49, oldestAgeMs: 110, added: 50 }; // 1 job in 100 ms: "10 jobs/s"
    await rig.gate.admit(0);
    // Predicted from that, 49 ahead would wait 4.9 s; observed, the oldest has waited 110 ms of 1 s.
    assert.equal((await rig.admitUntilRefused(20)).admitted, 20);
  });

  it('before a drain rate is known, the oldest waiting job\'s wait decides', async () => {
    const rig = new Rig({ maxQueued: 0, maxAgeMs: 100 });
    rig.depth = { queued: 500, running: 8, oldestAgeMs: 90, added: 500 };
    assert.equal((await rig.admitUntilRefused(50)).admitted, 50, 'no drain rate yet, and the oldest waited less than the bound');
    rig.step({ queued: 0, oldestAgeMs: 0 }); // an interval that ends idle measures no rate
    await rig.gate.admit(0);
    rig.step({ queued: 500, oldestAgeMs: 101 });
    const { admitted, refusal } = await rig.admitUntilRefused();
    assert.equal(admitted, 0);
    assert.equal(refusal?.details.oldestAgeMs, 101);
  });

  it('the oldest waiting job past twice the bound refuses, whatever the drain rate says', async () => {
    const rig = new Rig({ maxQueued: 0, maxAgeMs: 100 });
    await drainingAt100PerS(rig, 1);
    rig.step({ added: 200, oldestAgeMs: 201 }); // 1 job ahead: predicted 10 ms
    await assert.rejects(rig.gate.admit(1), { code: 'overloaded' });
  });

  it('counts the jobs other API processes add: they keep the jobs ahead from draining between samples', async () => {
    // The same queue and drain rate; the 100 jobs added were this gate's own, or another process's.
    const alone = new Rig({ maxQueued: 0, maxAgeMs: 100 });
    const shared = new Rig({ maxQueued: 0, maxAgeMs: 100 });
    await drainingAt100PerS(alone, 4, 'this gate');
    await drainingAt100PerS(shared, 4, 'others');
    const admitted: number[] = [];
    for (const rig of [alone, shared]) {
      assert.equal((await rig.admitUntilRefused()).admitted, 7, 'up to the bound');
      rig.now += 40; // within the sample's life: the workers took about 4
      admitted.push((await rig.admitUntilRefused()).admitted);
    }
    assert.equal(admitted[0], 4, 'alone: as many as the workers took');
    assert.ok(admitted[1]! < admitted[0]!, `shared: fewer, the other process takes its part of the room (${admitted[1]})`);
  });

  it('keeps the queued cap as a hard limit', async () => {
    const rig = new Rig({ maxQueued: 10, maxAgeMs: 0 });
    rig.depth = { queued: 7, running: 8, oldestAgeMs: 0, added: 7 };
    const { admitted, refusal } = await rig.admitUntilRefused();
    assert.equal(admitted, 3);
    assert.equal(refusal?.details.queued, 10);
    assert.match(refusal?.message ?? '', /10 jobs wait for a worker \(at most 10\)/);
  });
});
