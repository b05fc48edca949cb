/**
 * Retention (worker/retention-sweep.ts) on a real db and a real Redis (its lock): each tenant's
 * finished jobs older than its retention go, with their webhook deliveries and attempts; recent
 * finished jobs and unfinished ones stay, whatever their age; expired Idempotency-Key records go.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { withDefaults } from '../../contract/limits.js';
import { resultWithoutRun } from '../../contract/result-without-run.js';
import { openDatabase, type DatabaseHandle } from '../../db/client.js';
import { claimIdempotencyKey } from '../../db/idempotency.js';
import { createJobs, getJob, markRunning, recordResult, type NewJob } from '../../db/jobs.js';
import { listDeliveries } from '../../db/webhook-deliveries.js';
import { acquireLock } from '../../queue/reconcile-lock.js';
import { RETENTION_LOCK } from '../../queue/redis-keys.js';
import { RetentionSweep } from '../../worker/retention-sweep.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const DAY = 86_400_000;
const NOW = 100 * DAY;
const dir = mkdtempSync(join(tmpdir(), 'warmbox-retention-test-'));
let handle: DatabaseHandle;
let server: TestRedis;
let redis: Redis;

before(async () => {
  handle = await openDatabase(join(dir, 'warmbox.db'));
  server = await startRedis();
  redis = new Redis(server.port, server.host);
});
after(async () => {
  handle?.close();
  redis?.disconnect();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function job(id: string, tenantId: string, createdAt: number, webhookUrl: string | null = null): NewJob {
  const image = 'docker.io/library/busybox:latest';
  const request = { id, tenantId, image, stdinBase64: '', env: {}, files: [], limits: withDefaults(undefined), network: 'none' as const, createdAt };
  return { id, tenantId, image, request, labels: {}, webhookUrl, createdAt } as NewJob;
}

async function finishedAt(id: string, tenantId: string, at: number, webhookUrl: string | null = null): Promise<void> {
  await createJobs(handle.db, [await job(id, tenantId, at - 1000, webhookUrl)]);
  await recordResult(handle.db, id, resultWithoutRun('nonzero_exit'), at);
}

function sweep(tenants: { id: string; retentionSeconds: number | null }[], defaultSeconds: number | null): RetentionSweep {
  return new RetentionSweep({ db: handle.db, redis, log: pino({ level: 'silent' }), tenants: async () => tenants, defaultSeconds, idempotencyKeyTtlMs: DAY });
}

describe('the retention sweep', () => {
  it('prunes each tenant\'s finished jobs past its retention, and keeps recent and unfinished ones', async () => {
    // local: 7 days (its policy); acme: the default, 30 days; gone: a tenant deleted since, the default too.
    await finishedAt('L-old', 'local', NOW - 8 * DAY, 'https://example.com/hook');
    await finishedAt('L-recent', 'local', NOW - 6 * DAY);
    await createJobs(handle.db, [await job('L-queued', 'local', NOW - 50 * DAY), await job('L-running', 'local', NOW - 50 * DAY)]);
    await markRunning(handle.db, 'L-running', NOW - 50 * DAY, 'sha256:00');
    await finishedAt('A-old', 'acme', NOW - 31 * DAY);
    await finishedAt('A-recent', 'acme', NOW - 8 * DAY);
    await finishedAt('G-old', 'gone', NOW - 31 * DAY);
    assert.equal((await listDeliveries(handle.db, 'L-old')).length, 1);
    await claimIdempotencyKey(handle.db, { key: 'old-key', requestHash: 'h', jobIds: ['L-old'], createdAt: NOW - 2 * DAY }, 0);
    await claimIdempotencyKey(handle.db, { key: 'new-key', requestHash: 'h', jobIds: ['L-recent'], createdAt: NOW - 1000 }, 0);

    const counts = await sweep([{ id: 'local', retentionSeconds: 7 * 86_400 }, { id: 'acme', retentionSeconds: null }], 30 * 86_400).sweep(NOW);
    assert.deepEqual(counts, { jobs: 3, idempotencyKeys: 1 });
    for (const gone of ['L-old', 'A-old', 'G-old']) assert.equal(await getJob(handle.db, gone), undefined, `${gone} was pruned`);
    for (const kept of ['L-recent', 'L-queued', 'L-running', 'A-recent']) assert.ok(await getJob(handle.db, kept), `${kept} was kept`);
    assert.deepEqual(await listDeliveries(handle.db, 'L-old'), [], 'its webhook delivery went with it');
  });

  it('keeps everything of a tenant whose retention is off (no default), and prunes in batches past one', async () => {
    const many = Array.from({ length: 1203 }, (_, i) => `B-${String(i).padStart(5, '0')}`);
    for (const id of many) await finishedAt(id, 'bulk', NOW - 40 * DAY);
    await finishedAt('K-old', 'keeper', NOW - 400 * DAY);
    const counts = await sweep([{ id: 'keeper', retentionSeconds: null }, { id: 'bulk', retentionSeconds: 86_400 }], null).sweep(NOW);
    assert.equal(counts?.jobs, many.length);
    assert.ok(await getJob(handle.db, 'K-old'));
  });

  it('does nothing while another process holds the retention lock', async () => {
    await finishedAt('X-old', 'local', NOW - 400 * DAY);
    const lock = await acquireLock(redis, RETENTION_LOCK, 60_000);
    assert.ok(lock);
    try {
      assert.equal(await sweep([], 86_400).sweep(NOW), undefined);
      assert.ok(await getJob(handle.db, 'X-old'));
    } finally {
      await lock.release();
    }
    assert.ok(await sweep([], 86_400).sweep(NOW));
    assert.equal(await getJob(handle.db, 'X-old'), undefined);
  });
});
