/**
 * Redis dies under load: the server's private redis-server (the server starts it again), an
 * external Redis that comes back with its data (AOF), and one that comes back empty. Every job
 * accepted reaches a final state, none runs twice, nothing is left.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { privateRedisPid } from '../helpers/private-redis.js';
import { startRedis, startRedisOn, type TestRedis } from '../helpers/redis.js';
import { FaultRun } from './fault-run.js';

describe('faults: Redis dies under load', () => {
  it('the private Redis is SIGKILLed: the server starts it again and every accepted job reaches a verdict', async () => {
    const run = await FaultRun.begin();
    try {
      run.load.start(4);
      await run.load.untilAccepted(60);
      const pid = privateRedisPid(run.dataDir);
      assert.ok(pid, 'the private redis-server runs');
      process.kill(pid, 'SIGKILL');
      await run.load.untilAccepted(run.load.accepted.length + 30);
      await run.finish('the private Redis SIGKILLed');
    } finally {
      await run.dispose();
    }
  });

  for (const withData of [true, false]) {
    const what = withData ? 'with its data (AOF)' : 'empty';
    it(`an external Redis is SIGKILLed and comes back ${what}: every accepted job reaches a verdict, once`, async () => {
      const aofDir = withData ? mkdtempSync(join(tmpdir(), 'warmbox-fault-aof-')) : undefined;
      let redis: TestRedis = await startRedis({ aofDir });
      const run = await FaultRun.begin({ redisUrl: redis.url });
      try {
        run.load.start(4);
        await run.load.untilAccepted(60);
        process.kill(redis.pid, 'SIGKILL');
        await sleep(1000); // an outage: submissions are refused meanwhile
        redis = await startRedisOn(redis.port, { aofDir });
        await run.load.untilAccepted(run.load.accepted.length + 30);
        await run.finish(`an external Redis SIGKILLed, back ${what}`);
      } finally {
        await run.dispose();
        await redis.stop();
        if (aofDir) rmSync(aofDir, { recursive: true, force: true });
      }
    });
  }
});
