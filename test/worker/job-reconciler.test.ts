/**
 * The reconcile sweep's rules, against a real Redis and a real db, with the jobs queue put in
 * each state a crash leaves it in: a running job whose worker died (stalled in BullMQ, active with
 * its lock expired, or with its process gone) or that Redis lost ends `lost`; a queued job Redis
 * lost is queued again once, after the grace; a dead worker's copy is taken out; one sweep at a time.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { DEFAULT_LIMITS } from '../../contract/limits.js';
import type { JobPayload, JobResult } from '../../contract/job-payload.js';
import { openDatabase, type DatabaseHandle } from '../../db/client.js';
import { createJob, finishJob, getJob, markRunning } from '../../db/jobs.js';
import { JobQueue } from '../../queue/job-queue.js';
import { BULL_PREFIX, QUEUE_JOBS } from '../../queue/redis-keys.js';
import { JobReconciler } from '../../worker/job-reconciler.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const GRACE_MS = 5000;
const LOCK_MS = 300;

let redis: TestRedis;
let conn: Redis;
let dir: string;
let dbh: DatabaseHandle;
let queue: JobQueue;
let bull: Queue;
let reconciler: JobReconciler;
/** Connections of the BullMQ workers a test makes (BullMQ leaves a connection it was given open). */
let extra: Redis[] = [];
function connection(): Redis {
  const c = conn.duplicate();
  extra.push(c);
  return c;
}
const log = pino({ level: 'silent' });

before(async () => {
  redis = await startRedis();
  dir = await makeTempDir('reconcile');
});
beforeEach(async () => {
  conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  await conn.flushall();
  dbh?.close();
  dbh = await openDatabase(join(dir, `warmbox-${Date.now()}.db`));
  queue = new JobQueue(conn);
  bull = new Queue(QUEUE_JOBS, { connection: conn, prefix: BULL_PREFIX });
  reconciler = new JobReconciler({ db: dbh.db, redis: conn, log, intervalMs: 3_600_000, graceMs: GRACE_MS });
});
afterEach(async () => {
  await reconciler.close();
  await queue.close();
  await bull.close();
  for (const c of [conn, ...extra]) c.disconnect();
  extra = [];
});
after(async () => {
  dbh?.close();
  await redis?.stop();
  await removeTempDir(dir);
});

let seq = 0;
function payload(createdAt: number): JobPayload {
  const id = `job-${Date.now()}-${seq++}`;
  return { id, image: 'docker.io/library/busybox:latest', cmd: ['true'], stdinBase64: '', env: {}, files: [], limits: { ...DEFAULT_LIMITS }, network: 'none', createdAt };
}

/** A job recorded (queued) `ageMs` ago, and queued in BullMQ unless told otherwise. */
async function queued(ageMs: number, enqueue = true): Promise<JobPayload> {
  const p = payload(Date.now() - ageMs);
  await createJob(dbh.db, { id: p.id, image: p.image, request: p, labels: {}, createdAt: p.createdAt });
  if (enqueue) await queue.add(p);
  return p;
}

/** A worker of `name` takes the next job (its lock lasts LOCK_MS) and marks it running, then "dies": nothing renews the lock. */
async function takenBy(name: string, p: JobPayload, running = true): Promise<{ job: Job; taker: Worker }> {
  const taker = new Worker(QUEUE_JOBS, undefined, { connection: connection(), prefix: BULL_PREFIX, name, lockDuration: LOCK_MS, autorun: false, maxStalledCount: 0 });
  const job = (await taker.getNextJob('token-of-the-dead'))!;
  assert.equal(job.id, p.id);
  if (running) assert.ok(await markRunning(dbh.db, p.id, Date.now(), 'sha256:0'));
  return { job, taker };
}

async function lockExpired(): Promise<void> {
  await new Promise((r) => setTimeout(r, LOCK_MS * 3));
}

/** BullMQ's own stalled check (maxStalledCount 0, as our workers run), until it has moved `id`. */
async function stalledByBullmq(id: string): Promise<void> {
  const checker = new Worker(QUEUE_JOBS, undefined, { connection: connection(), prefix: BULL_PREFIX, autorun: false, maxStalledCount: 0, stalledInterval: 100 });
  try {
    await checker.startStalledCheckTimer();
    for (let i = 0; i < 100; i++) {
      const job = await bull.getJob(id);
      if (job?.deferredFailure) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`BullMQ never marked ${id} stalled`);
  } finally {
    await checker.close();
  }
}

async function row(id: string) {
  return (await getJob(dbh.db, id))!;
}

const ok: JobResult = { verdict: 'ok', exitCode: 0, signal: null, stdout: 'ran\n', stderr: '', stdoutTruncated: false, stderrTruncated: false, usage: { cpuTimeMs: 1, wallTimeMs: 1, memoryPeakBytes: 1 }, start: 'warm', timings: { queuedMs: 0, pullMs: 0, acquireMs: 0, runMs: 1, totalMs: 1 } };

describe('reconcile: running jobs no live worker holds end lost', () => {
  it('a job BullMQ failed as stalled (its worker died): lost, saying which worker stopped; the worker cannot overwrite it', async () => {
    const p = await queued(0);
    const { taker } = await takenBy('far-host-4242', p);
    await lockExpired();
    await stalledByBullmq(p.id);
    const counts = await reconciler.sweep();
    assert.equal(counts?.lost, 1, JSON.stringify(counts));
    const r = await row(p.id);
    assert.equal(r.status, 'finished');
    assert.equal(r.verdict, 'lost');
    assert.match(r.result?.error ?? '', /the worker running it \(far-host-4242\) stopped before it ended/);
    assert.equal(await finishJob(dbh.db, p.id, ok, Date.now()), false, "a late result of the dead worker's does not replace the verdict");
    assert.equal((await row(p.id)).verdict, 'lost');
    assert.equal(await bull.getJobState(p.id), 'unknown', 'the stalled copy is taken out: no worker would run it');
    await taker.close();
  });

  it('a job active with its lock expired, when no worker runs a stalled check: lost', async () => {
    const p = await queued(0);
    const { taker } = await takenBy('far-host-4243', p);
    await lockExpired();
    assert.equal(await bull.getJobState(p.id), 'active');
    assert.equal((await reconciler.sweep())?.lost, 1);
    assert.equal((await row(p.id)).verdict, 'lost');
    assert.equal(await bull.getJobState(p.id), 'unknown', 'the dead copy is out of the active list');
    await taker.close();
  });

  it("a job whose worker on this host is gone: lost at once, before its lock expires", async () => {
    const p = await queued(0);
    const deadPid = 2 ** 22 - 7; // above any pid_max default: never alive
    const { taker } = await takenBy(`${hostname()}-${deadPid}`, p);
    const counts = await reconciler.sweep();
    assert.equal(counts?.lost, 1, JSON.stringify(counts));
    assert.match((await row(p.id)).result?.error ?? '', new RegExp(`\\(${hostname()}-${deadPid}\\) stopped before it ended`));
    await taker.close();
  });

  it('a job Redis lost while it ran: lost, saying so', async () => {
    const p = await queued(0, false);
    assert.ok(await markRunning(dbh.db, p.id, Date.now(), 'sha256:0'));
    assert.equal((await reconciler.sweep())?.lost, 1);
    assert.equal((await row(p.id)).verdict, 'lost');
    assert.equal((await row(p.id)).result?.error, 'Redis lost the job while it ran');
  });

  it('leaves alone a job a live worker runs, and one this process runs', async () => {
    const p = await queued(0);
    const { taker } = await takenBy('far-host-4244', p);
    const local = await queued(0, false);
    assert.ok(await markRunning(dbh.db, local.id, Date.now(), 'sha256:0'));
    const here = new JobReconciler({ db: dbh.db, redis: conn, log, intervalMs: 3_600_000, graceMs: GRACE_MS, runsHere: (id) => id === local.id });
    const counts = await here.sweep();
    assert.deepEqual(counts, { checked: 2, requeued: 0, lost: 0, removed: 0 });
    assert.equal((await row(p.id)).status, 'running');
    assert.equal((await row(local.id)).status, 'running');
    await here.close();
    await taker.close();
  });
});

describe('reconcile: queued jobs that never reached a sandbox are queued again', () => {
  it('a queued job Redis lost, past the grace: queued again under its id, once', async () => {
    const p = await queued(GRACE_MS * 2, false);
    const young = await queued(0, false);
    assert.equal((await reconciler.sweep())?.requeued, 1);
    assert.equal(await bull.getJobState(p.id), 'waiting');
    assert.equal(await bull.getJobState(young.id), 'unknown', 'a job younger than the grace may be between its insert and its enqueue: left alone');
    assert.equal((await reconciler.sweep())?.requeued, 0, 'the next sweep finds it queued');
    assert.equal(await bull.count(), 1);
    assert.equal((await row(p.id)).status, 'queued');
  });

  it('a queued job whose worker died before it reached a sandbox (stalled in BullMQ): queued again, and only one run can claim it', async () => {
    const p = await queued(GRACE_MS * 2);
    const { taker } = await takenBy('far-host-4245', p, false);
    await lockExpired();
    await stalledByBullmq(p.id);
    assert.equal((await reconciler.sweep())?.requeued, 1);
    const job = await bull.getJob(p.id);
    assert.equal(await job?.getState(), 'waiting');
    assert.equal(job?.deferredFailure || undefined, undefined, 'a fresh copy, not the stalled one');
    assert.ok(await markRunning(dbh.db, p.id, Date.now(), 'sha256:0'), 'the first run claims it');
    assert.equal(await markRunning(dbh.db, p.id, Date.now(), 'sha256:0'), false, 'a second copy could not run it again');
    await taker.close();
  });
});

describe('reconcile: the queue itself', () => {
  it("takes out a copy a dead worker left active, once the db has finished the job", async () => {
    const p = await queued(0);
    const { taker } = await takenBy('far-host-4246', p);
    await finishJob(dbh.db, p.id, ok, Date.now());
    await lockExpired();
    assert.equal((await reconciler.sweep())?.removed, 1);
    assert.deepEqual(await queue.counts(), { queued: 0, running: 0 });
    await taker.close();
  });

  it('sweeps in one process at a time', async () => {
    await queued(GRACE_MS * 2, false);
    const other = new JobReconciler({ db: dbh.db, redis: conn, log, intervalMs: 3_600_000, graceMs: GRACE_MS });
    const both = await Promise.all([reconciler.sweep(), other.sweep()]);
    assert.equal(both.filter((c) => c === undefined).length, 1, 'one of two concurrent sweeps finds the lock taken');
    assert.equal(await bull.count(), 1);
    await other.close();
  });
});
