/**
 * PoolCoordinator: the demand broadcast and API-set bounds reaching real warm pools, between two
 * coordinators (two "workers") on one real Redis, over real sandboxes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { DEFAULT_LIMITS } from '../../contract/limits.js';
import { SandboxPools } from '../../runtime/sandbox-pools.js';
import { ImageResolver } from '../../worker/image-resolver.js';
import { effectiveBounds, PoolCoordinator } from '../../worker/pool-coordinator.js';
import type { WorkerPoolStatus } from '../../contract/pools.js';
import { PoolRegistry } from '../../queue/pool-registry.js';
import { CHANNEL_POOL_DEMAND } from '../../queue/redis-keys.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { SandboxFixture } from '../helpers/sandbox-fixture.js';

const BUSYBOX = 'docker.io/library/busybox:latest';

describe('effectiveBounds', () => {
  it('raises the minimum to the demand floor, never above the maximum', () => {
    assert.deepEqual(effectiveBounds({ min: 0, max: 16 }, 2), { min: 2, max: 16 });
    assert.deepEqual(effectiveBounds({ min: 4, max: 16 }, 2), { min: 4, max: 16 });
    assert.deepEqual(effectiveBounds({ min: 0, max: 1 }, 2), { min: 1, max: 1 });
    assert.deepEqual(effectiveBounds({ min: 0, max: 0 }, 2), { min: 0, max: 0 });
    assert.deepEqual(effectiveBounds({ min: 1, max: 16 }, 0), { min: 1, max: 16 });
  });
});

/** Polls `probe` until it returns something truthy. */
async function until<T>(probe: () => T | false | undefined | Promise<T | false | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting until ${what}`);
}

describe('PoolCoordinator', () => {
  let server: TestRedis;
  let redis: Redis;
  let fx: SandboxFixture;
  const workers: { pools: SandboxPools; coordinator: PoolCoordinator; images: ImageResolver }[] = [];

  before(async () => {
    server = await startRedis();
    redis = new Redis(server.port, server.host);
    fx = await SandboxFixture.open('pool-coordinator');
    for (const id of ['worker-a', 'worker-b']) {
      const pools = new SandboxPools(fx.runtime, { defaultBounds: { min: 0, max: 16 }, maxParkedTotal: 64, defaultDiskBytes: DEFAULT_LIMITS.diskBytes });
      const images = new ImageResolver(fx.store);
      const coordinator = await PoolCoordinator.start({
        workerId: id,
        hostname: 'test',
        pid: process.pid,
        concurrency: 1,
        redis,
        pools,
        images,
        maxParkedTotal: 64,
        log: pino({ level: 'silent' }),
        demandHoldMs: 1500,
        intervalMs: 100,
      });
      workers.push({ pools, coordinator, images });
    }
  });
  after(async () => {
    for (const w of workers) {
      await w.coordinator.close();
      await w.pools.close();
    }
    await fx?.teardown();
    redis?.disconnect();
    await server?.stop();
  });

  const busyboxOf = (i: number) => workers[i]!.coordinator.status().pools.find((p) => p.image === BUSYBOX);

  it('a job taken on one worker makes every worker hold the demand floor of its image parked, then let it go', async () => {
    assert.equal(busyboxOf(1), undefined, 'worker b has no busybox pool yet');
    workers[0]!.coordinator.noteJobTaken(BUSYBOX);
    for (const i of [0, 1]) {
      const pool = await until(() => busyboxOf(i)?.parked === 2 && busyboxOf(i), `worker ${i} has 2 parked`);
      assert.equal(pool.demandFloor, 2);
      assert.deepEqual([pool.min, pool.max], [0, 16], 'the configured bounds are reported, not the floor');
    }
    // No more demand: after the hold the floor goes, and the idle pools shrink back to their minimum.
    for (const i of [0, 1]) await until(() => busyboxOf(i)?.parked === 0 && busyboxOf(i)?.demandFloor === 0, `worker ${i} shrank back`);
  });

  it('broadcasts at most once a second per image', async () => {
    const subscriber = redis.duplicate();
    const heard: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => heard.push(message));
    await subscriber.subscribe(CHANNEL_POOL_DEMAND);
    const t = Date.now() + 10_000; // clear of the earlier test's broadcasts
    for (let i = 0; i < 5; i++) workers[1]!.coordinator.noteJobTaken(BUSYBOX, t + i * 100);
    workers[1]!.coordinator.noteJobTaken(BUSYBOX, t + 1000);
    workers[1]!.coordinator.noteJobTaken('docker.io/library/hello-world:latest', t);
    await until(() => heard.length >= 3, 'three broadcasts heard');
    subscriber.disconnect();
    assert.deepEqual(heard.map((m) => JSON.parse(m).image).sort(), [BUSYBOX, BUSYBOX, 'docker.io/library/hello-world:latest']);
    assert.ok(heard.every((m) => JSON.parse(m).worker === 'worker-b'));
  });

  it('applies bounds set through the registry on every worker, and publishes its status', async () => {
    const registry = new PoolRegistry(redis);
    await registry.setBounds(BUSYBOX, { min: 1, max: 3 });
    for (const i of [0, 1]) await until(() => busyboxOf(i)?.min === 1 && busyboxOf(i)?.parked === 1, `worker ${i} keeps 1 parked`);
    await registry.setBounds(BUSYBOX, { min: 0, max: 0 });
    workers[0]!.coordinator.noteJobTaken(BUSYBOX, Date.now() + 60_000); // demand cannot lift a pool above max 0
    for (const i of [0, 1]) await until(() => busyboxOf(i)?.max === 0 && busyboxOf(i)?.parked === 0, `worker ${i} keeps none`);
    const emptied = (s: WorkerPoolStatus) => s.pools.some((p) => p.image === BUSYBOX && p.max === 0 && p.parked === 0);
    const listed = await until(async () => {
      const all = await registry.listStatuses();
      return all.length === 2 && all.every(emptied) && all;
    }, 'both statuses in Redis show the emptied pool');
    assert.deepEqual(listed.map((s) => s.id), ['worker-a', 'worker-b']);
  });

  it('does not refill the pool of an image removed while its demand floor held', async () => {
    const removed = await fx.buildImage({ name: 'removed-under-demand' });
    const poolOf = (i: number) => workers[i]!.coordinator.status().pools.find((p) => p.digest === removed.digest);
    workers[0]!.coordinator.noteJobTaken(removed.reference, Date.now() + 120_000);
    for (const i of [0, 1]) await until(() => poolOf(i)?.parked === 2, `worker ${i} has 2 parked of the image`);
    // A job on each: the pools' own policy now wants sandboxes of the image too (recent claims).
    for (const w of workers) await (await w.pools.acquire(removed, DEFAULT_LIMITS.diskBytes)).sandbox.destroy();
    // What worker/image-worker.ts does on removal: untag, forget, drain the pools.
    await fx.store.remove(removed.reference);
    for (const w of workers) {
      w.images.forget(removed.reference);
      w.pools.configure(removed, { min: 0, max: 0 });
    }
    for (const i of [0, 1]) await until(() => poolOf(i)?.demandFloor === 0, `worker ${i}'s floor lapsed`);
    // Several status intervals after the floor lapsed, nothing was parked again.
    const seen: number[] = [];
    await until(() => {
      seen.push(poolOf(0)!.parked + poolOf(0)!.creating + poolOf(1)!.parked + poolOf(1)!.creating);
      return seen.length >= 20;
    }, 'twenty looks at the pools');
    assert.deepEqual([...new Set(seen)], [0]);
  });
});
