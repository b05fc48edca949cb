/**
 * POST /v1/jobs/batch (all or none) and the Idempotency-Key header, over HTTP against a real server
 * and a real Redis: a bad job refuses the batch and records nothing; a Redis that refuses the
 * enqueue leaves no half batch; concurrent retries with one key record and run one job.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startEmptyRegistry, type EmptyRegistry } from '../helpers/empty-registry.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

let redis: TestRedis;
let server: TestServer;
let registry: EmptyRegistry;
const MAX_BATCH = 5;

before(async () => {
  redis = await startRedis();
  // Unknown images are pulled on first use: from a registry that has none of them (not the Internet).
  registry = await startEmptyRegistry();
  server = await startServer({ redisUrl: redis.url, env: { WARMBOX_BATCH_MAX_JOBS: String(MAX_BATCH), WARMBOX_REGISTRY_DEFAULT: registry.host } });
});
after(async () => {
  await server?.stop();
  await registry?.stop();
  await redis?.stop();
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json(), headers: res.headers };
}

async function listed(label: string): Promise<any[]> {
  const res = await fetch(`${server.url}/v1/jobs?label=t=${label}&limit=200`);
  return (await res.json()).jobs;
}

async function finished(id: string): Promise<any> {
  for (let i = 0; i < 600; i++) {
    const job = await (await fetch(`${server.url}/v1/jobs/${id}`)).json();
    if (job.status === 'finished') return job;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id} did not finish`);
}

describe('POST /v1/jobs/batch', () => {
  it('records and queues every job, and answers their ids in the order sent', async () => {
    const t = randomUUID();
    const jobs = [0, 1, 2, 3].map((i) => ({ image: 'busybox', cmd: ['echo', `job ${i}`], labels: { t } }));
    const res = await post('/v1/jobs/batch', { jobs });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    assert.equal(res.json.jobs.length, 4);
    for (const [i, job] of res.json.jobs.entries()) {
      assert.equal(job.status, 'queued');
      assert.equal((await finished(job.id)).result.stdout, `job ${i}\n`);
    }
    assert.equal((await listed(t)).length, 4);
  });

  it('refuses the whole batch for one bad job, naming its index, and records none', async () => {
    const t = randomUUID();
    const good = { image: 'busybox', cmd: ['true'], labels: { t } };
    const aboveMax = await post('/v1/jobs/batch', { jobs: [good, good, { ...good, limits: { memoryBytes: 2 ** 40 } }, { ...good, cmd: 7 }] });
    assert.equal(aboveMax.status, 422, JSON.stringify(aboveMax.json));
    assert.equal(aboveMax.json.error.index, 2);
    assert.equal(aboveMax.json.error.field, 'jobs[2].limits.memoryBytes');
    const wrongType = await post('/v1/jobs/batch', { jobs: [good, { ...good, cmd: 7 }] });
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.json.error.index, 1);
    assert.equal(wrongType.json.error.field, 'jobs[1].cmd');
    const unknownImage = await post('/v1/jobs/batch', { jobs: [good, { ...good, image: 'no-such-image-here' }] });
    assert.equal(unknownImage.status, 404);
    assert.equal(unknownImage.json.error.index, 1, JSON.stringify(unknownImage.json));
    const tooMany = await post('/v1/jobs/batch', { jobs: Array.from({ length: MAX_BATCH + 1 }, () => good) });
    assert.equal(tooMany.status, 422);
    assert.equal(tooMany.json.error.field, 'jobs');
    assert.equal(tooMany.json.error.maximum, MAX_BATCH);
    assert.deepEqual(await listed(t), [], 'nothing recorded');
  });

  it('leaves no half batch when Redis refuses the enqueue: nothing recorded, 503, and a retry then runs', async () => {
    const t = randomUUID();
    const admin = new Redis(redis.url);
    const key = randomUUID();
    const body = { jobs: [0, 1, 2].map((i) => ({ image: 'busybox', cmd: ['echo', String(i)], labels: { t } })) };
    try {
      // A Redis at its memory limit with noeviction refuses every write: BullMQ's one MULTI of the batch fails whole.
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      const refused = await post('/v1/jobs/batch', body, { 'idempotency-key': key });
      assert.equal(refused.status, 503, JSON.stringify(refused.json));
      assert.equal(refused.json.error.code, 'queue_unavailable');
      assert.deepEqual(await listed(t), [], 'no job of the batch is left recorded');
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      admin.disconnect();
    }
    const retried = await post('/v1/jobs/batch', body, { 'idempotency-key': key });
    assert.equal(retried.status, 202, 'the key was freed with the jobs');
    assert.equal(retried.headers.get('idempotent-replayed'), null);
    for (const job of retried.json.jobs) assert.equal((await finished(job.id)).result.verdict, 'ok');
  });
});

describe('Idempotency-Key', () => {
  it('answers a retry with the same job, says it is a replay, and never runs it twice', async () => {
    const t = randomUUID();
    const key = randomUUID();
    const body = { image: 'busybox', cmd: ['echo', 'once'], labels: { t } };
    const first = await post('/v1/jobs?wait=true', body, { 'idempotency-key': key });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const again = await post('/v1/jobs?wait=true', body, { 'idempotency-key': key });
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.json.id, first.json.id);
    assert.equal(again.json.result.stdout, 'once\n');
    const noWait = await post('/v1/jobs', body, { 'idempotency-key': key });
    assert.equal(noWait.status, 202);
    assert.equal(noWait.json.id, first.json.id);
    assert.equal((await listed(t)).length, 1);
  });

  it('records one job for many concurrent retries with one key', async () => {
    const t = randomUUID();
    const key = randomUUID();
    const body = { image: 'busybox', cmd: ['echo', 'concurrent'], labels: { t } };
    const answers = await Promise.all(Array.from({ length: 12 }, () => post('/v1/jobs', body, { 'idempotency-key': key })));
    const ids = new Set(answers.map((a) => a.json.id));
    assert.deepEqual(answers.map((a) => a.status), answers.map(() => 202), JSON.stringify(answers.map((a) => a.json)));
    assert.equal(ids.size, 1, `one job id, got ${[...ids].join(', ')}`);
    assert.equal(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true').length, 11);
    assert.equal((await listed(t)).length, 1);
    assert.equal((await finished([...ids][0]!)).result.stdout, 'concurrent\n');
  });

  it('refuses the same key with another body (422) and a malformed key (400)', async () => {
    const key = randomUUID();
    const first = await post('/v1/jobs', { image: 'busybox', cmd: ['true'] }, { 'idempotency-key': key });
    assert.equal(first.status, 202);
    const other = await post('/v1/jobs', { image: 'busybox', cmd: ['false'] }, { 'idempotency-key': key });
    assert.equal(other.status, 422);
    assert.equal(other.json.error.code, 'idempotency_key_reused');
    const asBatch = await post('/v1/jobs/batch', { jobs: [{ image: 'busybox', cmd: ['true'] }] }, { 'idempotency-key': key });
    assert.equal(asBatch.status, 422, 'a batch is another request');
    const bad = await post('/v1/jobs', { image: 'busybox' }, { 'idempotency-key': 'has space' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.field, 'idempotency-key');
  });

  it('replays a batch with its ids in order', async () => {
    const key = randomUUID();
    const body = { jobs: [{ image: 'busybox', cmd: ['true'] }, { image: 'busybox', cmd: ['true'] }] };
    const first = await post('/v1/jobs/batch', body, { 'idempotency-key': key });
    const again = await post('/v1/jobs/batch', body, { 'idempotency-key': key });
    assert.equal(again.status, 202);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.json.jobs.map((j: any) => j.id), first.json.jobs.map((j: any) => j.id));
  });
});
