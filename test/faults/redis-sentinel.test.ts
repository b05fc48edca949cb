/**
 * warmbox on Redis Sentinel (`WARMBOX_REDIS_URL=redis-sentinel://…`): jobs run through the master
 * the sentinel names, and when that master is SIGKILLed under load the sentinel promotes the
 * replica and warmbox follows it. Replication is asynchronous, so the last writes before the kill
 * may be missing on the new master: the db still holds every accepted job, and the reconcile
 * sweep queues those missing from Redis again. Every accepted job reaches a verdict, once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startSentinelSet, until } from '../helpers/redis-sentinel.js';
import { FaultRun } from './fault-run.js';

const FAST_SWEEPS = { WARMBOX_RECONCILE_INTERVAL_MS: '1000', WARMBOX_RECONCILE_GRACE_MS: '5000' };

describe('faults: Redis Sentinel failover under load', () => {
  it('the master is SIGKILLed: the replica is promoted, warmbox follows, every accepted job reaches a verdict once', { timeout: 300_000 }, async () => {
    const set = await startSentinelSet();
    const run = await FaultRun.begin({ redisUrl: set.url, env: FAST_SWEEPS });
    try {
      run.load.start(4);
      await run.load.untilAccepted(40);
      process.kill(set.master.pid, 'SIGKILL');
      await until(async () => (await set.masterPort().catch(() => 0)) === set.replica.port, 'the sentinel promotes the replica', 60_000);
      const before = run.load.accepted.length;
      await run.load.untilAccepted(before + 30);
      assert.ok(run.load.accepted.length > before, 'jobs are accepted again after the failover');
      await run.finish('Redis Sentinel: the master SIGKILLed, the replica promoted');
    } finally {
      await run.dispose();
      await set.stop();
    }
  });
});
