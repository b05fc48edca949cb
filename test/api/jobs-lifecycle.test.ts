import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createApp } from '../../api/app.js';
import type { JobView } from '../../api/schemas/job-view.js';
import { listJobs } from '../../db/jobs.js';
import type { JobPayload } from '../../contract/job-payload.js';
import { NOTICE_MAX_OUTPUT_CHARS, publishFinished } from '../../queue/finished-notifier.js';
import { JobQueue } from '../../queue/job-queue.js';
import { BULL_PREFIX, QUEUE_JOBS } from '../../queue/redis-keys.js';
import { startRedis } from '../helpers/redis.js';
import { finish, okResult, postJob, startApiHarness, waitForFinishedSubscriber, type ApiHarness, type ErrorJson } from './harness.js';

let h: ApiHarness & { withNotice?: boolean };
before(async () => {
  h = await startApiHarness();
});
after(async () => h.close());

async function submit(body: unknown = { image: 'busybox', cmd: ['echo', 'hi'] }, query = ''): Promise<{ res: Response; job: JobView }> {
  const res = await postJob(h.app, body, query);
  return { res, job: (await res.json()) as JobView };
}

async function clientCount(): Promise<number> {
  const list = (await h.redis.client('LIST')) as string;
  return list.split('\n').filter((line) => line.trim() !== '').length;
}

describe('GET /v1/jobs/{id}', () => {
  it('is 404 job_not_found for an unknown id', async () => {
    const res = await h.app.request('/v1/jobs/01NOSUCHJOB000000000000000');
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as ErrorJson).error.code, 'job_not_found');
  });

  it('shows the job queued, then finished with its result', async () => {
    const { job } = await submit();
    const queued = (await (await h.app.request(`/v1/jobs/${job.id}`)).json()) as JobView;
    assert.deepEqual(queued, job);
    assert.equal(queued.status, 'queued');
    assert.equal(queued.digest, null);
    assert.equal(queued.startedAt, null);

    await finish(h, job.id, [], okResult('hi\n'));
    const res = await h.app.request(`/v1/jobs/${job.id}`);
    assert.equal(res.status, 200);
    const finished = (await res.json()) as JobView;
    assert.equal(finished.status, 'finished');
    assert.deepEqual(finished.result, okResult('hi\n'));
    assert.match(finished.digest ?? '', /^sha256:/);
    assert.ok(Date.parse(finished.finishedAt ?? '') >= Date.parse(finished.createdAt));
    assert.ok(finished.startedAt !== null);
  });
});

describe('POST /v1/jobs?wait=true', () => {
  it('answers 202 with the job still queued when the wait times out', async () => {
    const started = Date.now();
    const { res, job } = await submit(undefined, '?wait=true&timeout=150');
    assert.equal(res.status, 202);
    assert.equal(job.status, 'queued');
    assert.ok(Date.now() - started >= 140, 'held for the timeout');
    assert.equal(h.deps.notifier.pending, 0);
  });

  it('stops waiting when the client goes away', async () => {
    const abort = new AbortController();
    const pending = h.app.request('/v1/jobs?wait=true&timeout=10000', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'busybox' }),
      signal: abort.signal,
    });
    await waitFor(() => h.deps.notifier.pending === 1);
    abort.abort();
    await Promise.resolve(pending).catch(() => undefined);
    await waitFor(() => h.deps.notifier.pending === 0);
  });

  it('survives a reconnect of the notifier: the wait goes on and ends at the publish', async () => {
    const pending = submit(undefined, '?wait=true&timeout=8000');
    await waitFor(() => h.deps.notifier.pending === 1);
    const id = (await listJobs(h.handle.db, { limit: 1 }))[0]!.id;
    await h.redis.client('KILL', 'TYPE', 'PUBSUB');
    await waitForFinishedSubscriber(h.redis);
    await waitFor(() => h.deps.notifier.pending === 1);
    await finish(h, id);
    const { res, job } = await pending;
    assert.equal(res.status, 200);
    assert.equal(job.id, id);
    assert.equal(job.status, 'finished');
  });

  it("answers from the worker's notice, without reading the result back from the db", async () => {
    const pending = submit(undefined, '?wait=true&timeout=3000');
    await waitFor(() => h.deps.notifier.pending === 1);
    const id = (await listJobs(h.handle.db, { limit: 1 }))[0]!.id;
    // Only the notice says the job finished: the db still holds it queued.
    const result = okResult('from the notice\n');
    await publishFinished(h.redis, id, { id, digest: 'sha256:' + 'c'.repeat(64), startedAt: 1_000, finishedAt: 2_000, result });
    const { res, job } = await pending;
    assert.equal(res.status, 200);
    assert.equal(job.status, 'finished');
    assert.deepEqual(job.result, result);
    assert.equal(job.digest, 'sha256:' + 'c'.repeat(64));
    assert.equal(job.finishedAt, new Date(2_000).toISOString());
  });

  it('reads the db when the notice is too big for the channel: the id alone is published', async () => {
    const pending = submit(undefined, '?wait=true&timeout=3000');
    await waitFor(() => h.deps.notifier.pending === 1);
    const id = (await listJobs(h.handle.db, { limit: 1 }))[0]!.id;
    const big = okResult('x'.repeat(NOTICE_MAX_OUTPUT_CHARS + 1));
    await finish(h, id, [], big, true);
    const { res, job } = await pending;
    assert.equal(res.status, 200);
    assert.equal(job.result?.stdout.length, NOTICE_MAX_OUTPUT_CHARS + 1);
  });

  describe('with a worker taking jobs from the queue', () => {
    let worker: Worker<JobPayload>;
    before(async () => {
      // The worker's half of the protocol: result in the db, output ended, id published.
      worker = new Worker<JobPayload>(
        QUEUE_JOBS,
        async (bullJob) => finish(h, bullJob.data.id, [], okResult(bullJob.data.cmd?.join(' ') ?? ''), h.withNotice),
        { connection: { host: h.server.host, port: h.server.port }, prefix: BULL_PREFIX, concurrency: 16 },
      );
      await worker.waitUntilReady();
    });
    after(async () => worker.close());

    it('answers 200 with the finished job as soon as it is published', async () => {
      const started = Date.now();
      const { res, job } = await submit({ image: 'busybox', cmd: ['echo', 'fast'] }, '?wait=true&timeout=10000');
      assert.equal(res.status, 200);
      assert.equal(job.status, 'finished');
      assert.equal(job.result?.stdout, 'echo fast');
      assert.equal(res.headers.get('location'), `/v1/jobs/${job.id}`);
      assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
    });

    it("answers from the worker's notice exactly what GET /v1/jobs/{id} shows from the db", async () => {
      h.withNotice = true;
      try {
        const { res, job } = await submit({ image: 'busybox', cmd: ['echo', 'noticed'] }, '?wait=true&timeout=10000');
        assert.equal(res.status, 200);
        const stored = (await (await h.app.request(`/v1/jobs/${job.id}`)).json()) as JobView;
        assert.deepEqual(job, stored);
      } finally {
        h.withNotice = false;
      }
    });

    it('serves many concurrent waits without a Redis connection each', async () => {
      const clientsBefore = await clientCount();
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => submit({ image: 'busybox', cmd: ['echo', String(i)] }, '?wait=true')),
      );
      results.forEach(({ res, job }, i) => {
        assert.equal(res.status, 200);
        assert.equal(job.result?.stdout, `echo ${i}`);
      });
      assert.equal(await clientCount(), clientsBefore);
      assert.equal(h.deps.notifier.pending, 0);
    });
  });
});

describe('POST /v1/jobs when the queue is down', () => {
  it('answers 503 queue_unavailable and keeps no record of the job', async () => {
    const doomed = await startRedis();
    const connection = new Redis(doomed.port, doomed.host, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    await connection.connect();
    const queue = new JobQueue(connection);
    await doomed.stop();
    await waitFor(() => connection.status === 'end');
    try {
      const app = createApp({ ...h.deps, queue });
      const jobsBefore = (await listJobs(h.handle.db, { limit: 1_000_000 })).length;
      const res = await postJob(app, { image: 'busybox' });
      const body = (await res.json()) as ErrorJson;
      assert.equal(res.status, 503, JSON.stringify(body));
      assert.equal(body.error.code, 'queue_unavailable');
      assert.equal((await listJobs(h.handle.db, { limit: 1_000_000 })).length, jobsBefore);
    } finally {
      await queue.close().catch(() => undefined);
      connection.disconnect();
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
