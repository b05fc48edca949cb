/**
 * The server dies under load — SIGKILL of its process, or of its whole process group (what an OOM
 * kill of a cgroup or `kill -9 -PGID` does) — with its private Redis and with an external one.
 * Every job accepted before the kill reaches a final state after the next start, none runs twice,
 * the dead server's sandboxes die with it, and nothing is left once the last server stops.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { FaultRun } from './fault-run.js';

for (const redisKind of ['private', 'external'] as const) {
  describe(`faults: SIGKILL under load, ${redisKind} Redis`, () => {
    for (const group of [false, true]) {
      const what = group ? 'the server\'s whole process group' : 'the server';
      it(`SIGKILL of ${what}: every accepted job reaches a verdict, once; nothing is left`, async () => {
        const redis: TestRedis | undefined = redisKind === 'external' ? await startRedis() : undefined;
        const run = await FaultRun.begin({ redisUrl: redis?.url });
        try {
          run.load.start(4);
          await run.load.untilAccepted(60);
          await run.kill('SIGKILL', { group });
          assert.deepEqual(await run.jobProcessesAfter(), [], 'the killed server\'s jobs must die with it');
          await run.restart();
          await run.load.untilAccepted(run.load.accepted.length + 10);
          await run.finish(`SIGKILL of ${what}, ${redisKind} Redis`);
        } finally {
          await run.dispose();
          await redis?.stop();
        }
      });
    }
  });
}
