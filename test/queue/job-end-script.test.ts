/** A job's end in Redis, one command: the output stream's end entry and expiry, and the finished message its waiters wake on. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { FinishedNotifier } from '../../queue/finished-notifier.js';
import { endJobInRedis } from '../../queue/job-end-script.js';
import { appendOutput, OUTPUT_START, readOutput } from '../../queue/output-stream.js';
import { OUTPUT_STREAM_TTL_S, outputStreamKey } from '../../queue/redis-keys.js';
import { resultWithoutRun } from '../../contract/result-without-run.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

describe('endJobInRedis', () => {
  let server: TestRedis;
  let redis: Redis;
  let notifier: FinishedNotifier;

  before(async () => {
    server = await startRedis();
    redis = new Redis(server.port, server.host);
    notifier = await FinishedNotifier.start(redis);
  });
  after(async () => {
    await notifier.close();
    redis.disconnect();
    await server.stop();
  });

  it('ends the output after its chunks, sets its expiry, and wakes the waiter with the notice', async () => {
    const id = 'job-end-1';
    await appendOutput(redis, id, 'stdout', Buffer.from('hi\n'));
    const notice = { id, digest: 'sha256:' + 'a'.repeat(64), startedAt: 1, finishedAt: 2, result: { ...resultWithoutRun('nonzero_exit'), exitCode: 1 } };
    const woken = notifier.waitForNotice(id, 5_000);
    await endJobInRedis(redis, id, notice);
    assert.deepEqual(await woken, { published: true, notice });
    const entries = await readOutput(redis, id, OUTPUT_START, null);
    assert.deepEqual(entries.map((e) => e.type), ['stdout', 'end']);
    const ttl = await redis.ttl(outputStreamKey(id));
    assert.ok(ttl > 0 && ttl <= OUTPUT_STREAM_TTL_S, `ttl ${ttl}`);
  });

  it('announces by id alone without a notice, and works on a Redis that lost its script cache', async () => {
    await redis.script('FLUSH');
    const woken = notifier.waitForNotice('job-end-2', 5_000);
    await endJobInRedis(redis, 'job-end-2');
    assert.deepEqual(await woken, { published: true });
    assert.deepEqual((await readOutput(redis, 'job-end-2', OUTPUT_START, null)).map((e) => e.type), ['end']);
  });

  it('ends a job on a fresh auto-pipelining client in the same tick as another command (it once threw an uncaught TypeError there)', async () => {
    const fresh = new Redis(server.port, server.host, { enableAutoPipelining: true });
    try {
      const woken = notifier.waitForNotice('job-end-3', 5_000);
      const [pong] = await Promise.all([fresh.ping(), endJobInRedis(fresh, 'job-end-3')]);
      assert.equal(pong, 'PONG');
      assert.deepEqual(await woken, { published: true });
    } finally {
      fresh.disconnect();
    }
  });
});
