/**
 * A tenant's running cap (queue/running-slots.ts, queue/job-worker.ts) with real BullMQ workers on a
 * real Redis: with a cap of 1 a tenant's jobs never overlap, while another tenant's job runs beside
 * them; a slot held by a worker that is killed comes back when its lease ends.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Queue, type Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { DEFAULT_LIMITS } from '../../contract/limits.js';
import type { JobPayload, JobResult } from '../../contract/job-payload.js';
import { packageRoot } from '../../contract/paths.js';
import { JobQueue } from '../../queue/job-queue.js';
import { startJobWorker, type JobOutcome } from '../../queue/job-worker.js';
import { BULL_PREFIX, QUEUE_JOBS, tenantRunningKey } from '../../queue/redis-keys.js';
import { RunningSlots } from '../../queue/running-slots.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { okResult } from '../api/harness.js';

let n = 0;
function payload(tenantId: string): JobPayload {
  n++;
  return {
    id: `01JRUNNINGCAP${String(n).padStart(13, '0')}`,
    tenantId,
    image: 'docker.io/library/busybox:latest',
    cmd: ['true'],
    stdinBase64: '',
    env: {},
    files: [],
    limits: { ...DEFAULT_LIMITS },
    network: 'none',
    createdAt: Date.now(),
  };
}

const CAPS: Record<string, number | null> = { capped: 1, free: null };

describe('the running cap', () => {
  let server: TestRedis;
  let redis: Redis;
  let queue: JobQueue;
  let inspect: Queue;
  const workers: Worker[] = [];
  const slotSets: RunningSlots[] = [];

  before(async () => {
    server = await startRedis();
    redis = new Redis(server.port, server.host);
    await redis.ping();
    queue = new JobQueue({ host: server.host, port: server.port });
    inspect = new Queue(QUEUE_JOBS, { connection: { host: server.host, port: server.port }, prefix: BULL_PREFIX });
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.close(true)));
    for (const s of slotSets) s.close();
    await inspect.close();
    await queue.close();
    redis.disconnect();
    await server.stop();
  });

  function worker(run: (job: JobPayload) => Promise<JobResult>, concurrency: number, leaseMs?: number): Worker<JobPayload, JobOutcome> {
    const slots = new RunningSlots(redis, (err) => assert.fail(`renewing slots failed: ${err}`), leaseMs);
    slotSets.push(slots);
    const w = startJobWorker({
      name: `running-cap-${workers.length}`,
      connection: { host: server.host, port: server.port },
      concurrency,
      runner: { run },
      runningCap: { slots, capOf: async (tenantId) => CAPS[tenantId] ?? null },
    });
    workers.push(w);
    return w;
  }

  async function completed(id: string): Promise<void> {
    for (;;) {
      const state = await inspect.getJobState(id);
      if (state === 'completed') return;
      assert.notEqual(state, 'failed', `job ${id} failed`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('never runs two jobs of a capped tenant at once, across two workers, and runs another tenant\'s job beside them', async () => {
    const spans = new Map<string, { start: number; end: number }>();
    let freeDone!: () => void;
    const freeFinished = new Promise<void>((r) => (freeDone = r));
    const capped = [payload('capped'), payload('capped'), payload('capped')];
    const free = payload('free');
    const run = async (job: JobPayload): Promise<JobResult> => {
      const start = Date.now();
      // The first capped job to start holds its slot until the other tenant's job has run:
      // were that job held back behind the capped tenant's, this would never end.
      if (job.tenantId === 'capped' && spans.size === 0) await freeFinished;
      else await new Promise((r) => setTimeout(r, 100));
      spans.set(job.id, { start, end: Date.now() });
      if (job.id === free.id) freeDone();
      return okResult();
    };
    worker(run, 4);
    worker(run, 4);
    for (const p of capped) await queue.add(p);
    await queue.add(free);
    for (const p of [...capped, free]) await completed(p.id);
    const cappedSpans = capped.map((p) => spans.get(p.id)!).sort((a, b) => a.start - b.start);
    for (let i = 1; i < cappedSpans.length; i++) {
      assert.ok(cappedSpans[i]!.start >= cappedSpans[i - 1]!.end, `capped jobs overlapped: ${JSON.stringify(cappedSpans)}`);
    }
    assert.equal(await redis.zcard(tenantRunningKey('capped')), 0, 'every slot was given back');
    await Promise.all(workers.splice(0).map((w) => w.close()));
  });

  it('gives back the slot of a worker killed while it held it, once its lease ends', async () => {
    const leaseMs = 2000;
    const holder = spawn(process.execPath, [join(packageRoot(), 'dist/test/queue/slot-holder.js'), String(server.port), String(leaseMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const held = payload('capped');
    await queue.add(held);
    const [line] = (await once(holder.stdout!, 'data')) as [Buffer];
    assert.equal(line.toString().trim(), 'holding');
    assert.deepEqual(await redis.zrange(tenantRunningKey('capped'), '0', '-1'), [held.id]);
    holder.kill('SIGKILL');
    await once(holder, 'exit');

    const next = payload('capped');
    let ran = false;
    worker(async () => {
      ran = true;
      return okResult();
    }, 1, leaseMs);
    await queue.add(next);
    await completed(next.id);
    assert.ok(ran);
    assert.deepEqual(await redis.zrange(tenantRunningKey('capped'), '0', '-1'), [], 'the dead worker\'s slot expired');
  });
});
