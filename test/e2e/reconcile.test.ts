/**
 * The db and the queue reconciled, against a real server and a real external Redis: every accepted
 * job reaches a verdict, none runs twice, whatever Redis or the worker lost. An external Redis
 * restarted empty loses no queued job; a worker killed with its whole process group leaves its
 * running job `lost` (not `running` forever, not blocking its image's removal); a queued job
 * missing from Redis runs once. The external Redis's settings are checked at start.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { afterEach, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { BULL_PREFIX, QUEUE_JOBS, outputStreamKey } from '../../queue/redis-keys.js';
import { startRedis, startRedisOn, type TestRedis } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

const BOUND_MS = 120_000;
/** Sweeps every second, and re-queues a queued job Redis lost once it is 5 s old (the smallest grace). */
const FAST_SWEEPS = { WARMBOX_RECONCILE_INTERVAL_MS: '1000', WARMBOX_RECONCILE_GRACE_MS: '5000' };

let redises: TestRedis[] = [];
let servers: TestServer[] = [];

afterEach(async () => {
  for (const s of servers.reverse()) await s.stop();
  for (const r of redises) await r.stop();
  servers = [];
  redises = [];
});

async function redisServer(args: string[] = []): Promise<TestRedis> {
  const r = await startRedis({ args });
  redises.push(r);
  return r;
}

async function server(opts: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const s = await startServer(opts);
  servers.push(s);
  return s;
}

interface JobView {
  id: string;
  status: string;
  result?: { verdict: string; stdout: string; error?: string };
}

async function submit(s: TestServer, cmd: string[]): Promise<string> {
  const res = await fetch(`${s.url}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ image: 'busybox', cmd, limits: { wallTimeMs: 60_000 } }),
  });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as JobView).id;
}

async function job(s: TestServer, id: string): Promise<JobView> {
  return (await (await fetch(`${s.url}/v1/jobs/${id}`)).json()) as JobView;
}

async function until(s: TestServer, id: string, status: 'running' | 'finished'): Promise<JobView> {
  let last: JobView | undefined;
  for (const deadline = Date.now() + BOUND_MS; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    last = await job(s, id);
    if (last.status === status) return last;
  }
  throw new Error(`job ${id} not ${status} within ${BOUND_MS} ms: ${JSON.stringify(last)}; server log ${s.logFile}`);
}

/** How many times a job wrote its stdout: each run appends its chunks to the job's output stream. */
async function runsOf(redisUrl: string, id: string): Promise<number> {
  const conn = new Redis(redisUrl);
  try {
    const entries = await conn.xrange(outputStreamKey(id), '-', '+');
    return entries.filter(([, fields]) => fields[0] === 't' && fields[1] === 'stdout').length;
  } finally {
    conn.disconnect();
  }
}

describe('e2e reconcile: an external Redis restarted empty', () => {
  it('loses no queued job: each runs once, after the restart, and the running one ends too', async () => {
    const redis = await redisServer();
    const s = await server({ redisUrl: redis.url, env: { ...FAST_SWEEPS, WARMBOX_CONCURRENCY: '1' } });
    const blocker = await submit(s, ['sleep', '3']);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await submit(s, ['echo', `job ${i}`]));
    await until(s, blocker, 'running');

    process.kill(redis.pid, 'SIGKILL');
    await redis.stop();
    const empty = await startRedisOn(redis.port);
    redises = [empty];

    const first = await until(s, blocker, 'finished');
    assert.equal(first.result?.verdict, 'ok', 'the job that ran through the restart keeps its result: its worker was alive');
    for (const [i, id] of ids.entries()) {
      const j = await until(s, id, 'finished');
      assert.equal(j.result?.verdict, 'ok', JSON.stringify(j));
      assert.equal(j.result?.stdout, `job ${i}\n`);
      assert.equal(await runsOf(empty.url, id), 1, `job ${id} ran once`);
    }
  });
});

describe('e2e reconcile: a worker killed with its whole process group mid-job', () => {
  it('its job ends lost, saying the worker stopped, and no longer blocks removing its image', async () => {
    const redis = await redisServer();
    const first = await startServer({ redisUrl: redis.url, env: FAST_SWEEPS, detached: true });
    const id = await submit(first, ['sleep', '30']);
    await until(first, id, 'running');
    process.kill(-first.process.pid!, 'SIGKILL');
    await once(first.process, 'exit');

    const second = await server({ redisUrl: redis.url, env: FAST_SWEEPS, dataDir: first.dataDir });
    const lost = await until(second, id, 'finished');
    assert.equal(lost.result?.verdict, 'lost', JSON.stringify(lost));
    assert.match(lost.result?.error ?? '', new RegExp(`the worker running it \\(.+-${first.process.pid}\\) stopped before it ended`));

    const res = await fetch(`${second.url}/v1/images/busybox`, { method: 'DELETE' });
    assert.equal(res.status, 204, await res.text());
  });
});

describe('e2e reconcile: a queued job missing from Redis', () => {
  it('is queued again once older than the grace, and runs once', async () => {
    const redis = await redisServer();
    const s = await server({ redisUrl: redis.url, env: { ...FAST_SWEEPS, WARMBOX_CONCURRENCY: '1' } });
    const blocker = await submit(s, ['sleep', '8']);
    await until(s, blocker, 'running');
    const id = await submit(s, ['echo', 'once']);
    const queue = new Queue(QUEUE_JOBS, { connection: { host: redis.host, port: redis.port }, prefix: BULL_PREFIX });
    try {
      assert.equal(await queue.remove(id), 1, 'the job was waiting in BullMQ');
    } finally {
      await queue.close();
    }
    const j = await until(s, id, 'finished');
    assert.equal(j.result?.verdict, 'ok', JSON.stringify(j));
    assert.equal(j.result?.stdout, 'once\n');
    assert.equal(await runsOf(redis.url, id), 1);
  });
});

/** The server's log says `pattern` (its output goes through a pipe: wait for it a little). */
async function logSays(s: TestServer, pattern: RegExp): Promise<void> {
  let log = '';
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    log = readFileSync(s.logFile, 'utf8');
    if (pattern.test(log)) return;
  }
  assert.match(log, pattern);
}

describe("e2e reconcile: an external Redis's settings, checked at start", () => {
  it('refuses a Redis that may evict keys, naming the fix', async () => {
    const redis = await redisServer(['--maxmemory-policy', 'allkeys-lru']);
    const err = await startServer({ redisUrl: redis.url }).then(
      async (started) => {
        await started.stop();
        return assert.fail('the server started on a Redis with maxmemory-policy allkeys-lru');
      },
      (e: Error) => e,
    );
    const log = err.message;
    assert.match(log, /maxmemory-policy allkeys-lru/);
    assert.match(log, /Set maxmemory-policy noeviction/);
    assert.match(log, /WARMBOX_REDIS_ALLOW_EVICTION=1/);
  });

  it('starts on such a Redis when told to, with a warning', async () => {
    const redis = await redisServer(['--maxmemory-policy', 'allkeys-lru']);
    const s = await server({ redisUrl: redis.url, env: { WARMBOX_REDIS_ALLOW_EVICTION: '1' } });
    await logSays(s, /maxmemory-policy allkeys-lru.*started anyway/);
  });

  it('starts on a Redis without persistence, warning what a restart costs', async () => {
    const redis = await redisServer(['--appendonly', 'no']);
    const s = await server({ redisUrl: redis.url });
    await logSays(s, /has appendonly no: if it restarts it comes back empty.*end with verdict lost/);
  });
});
