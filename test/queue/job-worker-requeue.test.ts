/**
 * A job a stopping worker took but never started (its processor throws JobNotStartedError) goes
 * back to the queue, not to `failed` nor `completed`: the next worker runs it, once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Queue, type Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { DEFAULT_LIMITS } from '../../contract/limits.js';
import type { JobPayload, JobResult } from '../../contract/job-payload.js';
import { resultWithoutRun } from '../../contract/result-without-run.js';
import { JobNotStartedError } from '../../queue/job-not-started-error.js';
import { JobQueue } from '../../queue/job-queue.js';
import { startJobWorker, type JobOutcome } from '../../queue/job-worker.js';
import { BULL_PREFIX, QUEUE_JOBS } from '../../queue/redis-keys.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const payload: JobPayload = {
  id: '01JREQUEUETEST000000000000',
  image: 'docker.io/library/busybox:latest',
  cmd: ['true'],
  stdinBase64: '',
  env: {},
  files: [],
  limits: { ...DEFAULT_LIMITS },
  network: 'none',
  createdAt: 1,
};

describe('the jobs consumer, stopping', () => {
  let server: TestRedis;
  let redis: Redis;
  let inspect: Queue;

  before(async () => {
    server = await startRedis();
    redis = new Redis(server.port, server.host);
    await redis.ping();
    inspect = new Queue(QUEUE_JOBS, { connection: { host: server.host, port: server.port }, prefix: BULL_PREFIX });
  });
  after(async () => {
    await inspect.close();
    redis.disconnect();
    await server.stop();
  });

  function worker(run: (job: JobPayload) => Promise<JobResult>): Worker<JobPayload, JobOutcome> {
    return startJobWorker({ name: 'requeue-test', connection: { host: server.host, port: server.port }, concurrency: 1, runner: { run } });
  }

  it('moves a job it never started back to wait; the next worker runs it exactly once', async () => {
    let taken!: () => void;
    const wasTaken = new Promise<void>((r) => (taken = r));
    let release!: () => void;
    const stopping = new Promise<void>((r) => (release = r));
    const first = worker(async () => {
      taken();
      await stopping;
      throw new JobNotStartedError('the worker is stopping');
    });
    const queue = new JobQueue(redis);
    await queue.add(payload);
    await wasTaken;
    const closed = first.close();
    release();
    await closed;
    assert.equal(await inspect.getJobState(payload.id), 'waiting', 'back in the queue, not failed');

    const runs: string[] = [];
    const second = worker(async (job) => {
      runs.push(job.id);
      return resultWithoutRun('nonzero_exit');
    });
    const deadline = Date.now() + 30_000;
    while ((await inspect.getJobState(payload.id)) !== 'completed') {
      assert.ok(Date.now() < deadline, 'the next worker completes it');
      await new Promise((r) => setTimeout(r, 50));
    }
    await second.close();
    await queue.close();
    assert.deepEqual(runs, [payload.id], 'run once, by the next worker');
  });

  it("keeps only the job's verdict in Redis, not its result: the db holds that", async () => {
    const big = { ...payload, id: '01JOUTCOMETEST000000000000' };
    const w = worker(async () => ({ ...resultWithoutRun('nonzero_exit'), verdict: 'ok' as const, exitCode: 0, stdout: 'x'.repeat(100_000) }));
    const queue = new JobQueue(redis);
    await queue.add(big);
    const deadline = Date.now() + 30_000;
    while ((await inspect.getJobState(big.id)) !== 'completed') {
      assert.ok(Date.now() < deadline, 'the worker completes it');
      await new Promise((r) => setTimeout(r, 50));
    }
    await w.close();
    await queue.close();
    assert.deepEqual((await inspect.getJob(big.id))?.returnvalue, { verdict: 'ok' });
  });
});
