/** PoolRegistry: worker pool statuses and pool bounds in a real Redis. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { WorkerPoolStatus } from '../../contract/pools.js';
import { PoolRegistry } from '../../queue/pool-registry.js';
import { CHANNEL_POOL_BOUNDS, POOL_STATUS_TTL_S, poolWorkerStatusKey } from '../../queue/redis-keys.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

function status(id: string, updatedAt: number): WorkerPoolStatus {
  return { id, hostname: id.split('-')[0]!, pid: 1, concurrency: 8, startedAt: updatedAt, updatedAt, parkedTotal: 0, maxParkedTotal: 512, pools: [] };
}

describe('PoolRegistry', () => {
  let server: TestRedis;
  let redis: Redis;
  let registry: PoolRegistry;

  before(async () => {
    server = await startRedis();
    redis = new Redis(server.port, server.host);
    registry = new PoolRegistry(redis);
  });
  after(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('lists every worker that published, by id, each status expiring on its own', async () => {
    const now = Date.now();
    await registry.publishStatus(status('b-2', now));
    await registry.publishStatus(status('a-1', now));
    assert.deepEqual((await registry.listStatuses(now)).map((s) => s.id), ['a-1', 'b-2']);
    const ttl = await redis.ttl(poolWorkerStatusKey('a-1'));
    assert.ok(ttl > 0 && ttl <= POOL_STATUS_TTL_S, `ttl ${ttl}`);
  });

  it('drops a worker that stopped publishing, and one that removed itself at once', async () => {
    const now = Date.now();
    await registry.publishStatus(status('c-3', now));
    await registry.removeStatus('a-1');
    assert.deepEqual((await registry.listStatuses(now)).map((s) => s.id), ['b-2', 'c-3']);
    // Seen from POOL_STATUS_TTL_S seconds later, without a new publish: gone.
    assert.deepEqual(await registry.listStatuses(now + POOL_STATUS_TTL_S * 1000 + 1), []);
  });

  it('stores bounds by image and announces each change on the bounds channel', async () => {
    const subscriber = redis.duplicate();
    await subscriber.subscribe(CHANNEL_POOL_BOUNDS);
    const announced = once(subscriber, 'message');
    const stored = await registry.setBounds('docker.io/library/busybox:latest', { min: 1, max: 4 }, 1234);
    assert.deepEqual(stored, { image: 'docker.io/library/busybox:latest', min: 1, max: 4, updatedAt: 1234 });
    assert.deepEqual(await announced, [CHANNEL_POOL_BOUNDS, 'docker.io/library/busybox:latest']);
    subscriber.disconnect();

    await registry.setBounds('docker.io/library/alpine:3', { min: 0, max: 0 }, 1235);
    assert.deepEqual(await registry.getBounds('docker.io/library/busybox:latest'), stored);
    assert.equal(await registry.getBounds('docker.io/library/nothing:latest'), undefined);
    assert.deepEqual((await registry.allBounds()).map((b) => [b.image, b.min, b.max]), [
      ['docker.io/library/alpine:3', 0, 0],
      ['docker.io/library/busybox:latest', 1, 4],
    ]);
  });
});
