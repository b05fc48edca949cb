import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { DEFAULT_LIMITS } from '../../contract/limits.js';
import type { JobPayload } from '../../contract/job-payload.js';
import { JobQueue, RUN_JOB_NAME } from '../../queue/job-queue.js';
import { BULL_PREFIX, QUEUE_JOBS } from '../../queue/redis-keys.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

describe('JobQueue', () => {
  let server: TestRedis;
  let redis: Redis;
  let queue: JobQueue;
  let inspect: Queue;

  before(async () => {
    server = await startRedis();
    redis = new Redis(server.port, server.host);
    await redis.ping(); // connected: an add on a connection still connecting fails fast (QueueUnavailableError)
    queue = new JobQueue(redis);
    inspect = new Queue(QUEUE_JOBS, { connection: { host: server.host, port: server.port }, prefix: BULL_PREFIX });
  });
  after(async () => {
    await queue.close();
    await inspect.close();
    redis.disconnect();
    await server.stop();
  });

  const payload: JobPayload = {
    id: '01JQUEUETEST0000000000000A',
    image: 'docker.io/library/busybox:latest',
    cmd: ['true'],
    stdinBase64: '',
    env: {},
    files: [],
    limits: { ...DEFAULT_LIMITS },
    network: 'none',
    createdAt: 1,
  };

  it('enqueues the payload under its own id, for one attempt only', async () => {
    await queue.add(payload);
    const job = await inspect.getJob(payload.id);
    assert.ok(job);
    assert.equal(job.name, RUN_JOB_NAME);
    assert.deepEqual(job.data, payload);
    assert.equal(job.opts.attempts, 1);
    assert.ok(job.opts.removeOnComplete, 'finished jobs do not pile up in Redis');
    assert.ok(job.opts.removeOnFail);
  });

  it('adding the same id again does not queue it twice', async () => {
    await queue.add(payload);
    assert.equal(await inspect.getWaitingCount(), 1);
  });

  it('depth counts the jobs ever added: what left the queue between two reads is added − Δqueued (the drain rate of the overload gate)', async () => {
    const before = await queue.depth();
    await queue.addBulk([
      { ...payload, id: '01JQUEUETEST0000000000000B' },
      { ...payload, id: '01JQUEUETEST0000000000000C' },
    ]);
    const after = await queue.depth();
    assert.equal(after.added - before.added, 2);
    assert.equal(after.queued - before.queued, 2);
    assert.ok(after.oldestAgeMs >= 0);
    assert.equal(await queue.removeWaiting('01JQUEUETEST0000000000000B'), true);
    const taken = await queue.depth();
    assert.equal(taken.added, after.added);
    assert.equal(after.queued + (taken.added - after.added) - taken.queued, 1, 'one job left the queue');
  });

  it('leaves a shared connection open on close', async () => {
    const other = new JobQueue(redis);
    await other.close();
    assert.equal(await redis.ping(), 'PONG');
  });
});
