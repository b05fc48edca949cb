import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { FinishedNotifier, publishFinished } from '../../queue/finished-notifier.js';
import { CHANNEL_FINISHED } from '../../queue/redis-keys.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

describe('FinishedNotifier', () => {
  let server: TestRedis;
  let redis: Redis;
  let notifier: FinishedNotifier;

  before(async () => {
    server = await startRedis();
    redis = new Redis(server.port, server.host);
    notifier = await FinishedNotifier.start(redis);
  });
  after(async () => {
    await notifier.close();
    redis.disconnect();
    await server.stop();
  });

  it('resolves true when the id is published', async () => {
    const waiting = notifier.wait('job-1', 5_000);
    assert.equal(notifier.pending, 1, 'registered before wait() returns');
    await publishFinished(redis, 'job-1');
    assert.equal(await waiting, true);
    assert.equal(notifier.pending, 0);
  });

  it('resolves false on timeout, and ignores other ids', async () => {
    const started = Date.now();
    const waiting = notifier.wait('job-2', 100);
    await publishFinished(redis, 'job-other');
    assert.equal(await waiting, false);
    assert.ok(Date.now() - started >= 90);
    assert.equal(notifier.pending, 0);
  });

  it('resolves false when the signal aborts', async () => {
    const abort = new AbortController();
    const waiting = notifier.wait('job-3', 5_000, abort.signal);
    abort.abort();
    assert.equal(await waiting, false);
    assert.equal(notifier.pending, 0);
    assert.equal(await notifier.wait('job-3', 5_000, abort.signal), false, 'an aborted signal does not wait');
  });

  it('serves many concurrent waiters on its one subscription', async () => {
    const clientsBefore = await clientCount(redis);
    const ids = Array.from({ length: 20 }, (_, i) => `many-${i}`);
    const waits = ids.flatMap((id) => [notifier.wait(id, 5_000), notifier.wait(id, 5_000)]);
    assert.equal(notifier.pending, 40);
    assert.equal(await clientCount(redis), clientsBefore, 'no connection per waiter');
    await Promise.all(ids.map((id) => publishFinished(redis, id)));
    assert.deepEqual(await Promise.all(waits), waits.map(() => true));
    assert.equal(notifier.pending, 0);
  });

  it('holds exactly one subscriber connection', async () => {
    const subscribers = (await redis.client('LIST')) as string;
    const subscribed = subscribers.split('\n').filter((line) => /\bsub=1\b/.test(line));
    assert.equal(subscribed.length, 1);
  });

  it('wakes every waiter after its connection is re-established (messages may have been lost), and keeps serving', async () => {
    const waiting = notifier.wait('job-5', 5_000);
    await redis.client('KILL', 'TYPE', 'PUBSUB');
    assert.equal(await waiting, true, 'woken to read the db again');
    await waitForSubscriber(redis);
    const next = notifier.wait('job-6', 5_000);
    await publishFinished(redis, 'job-6');
    assert.equal(await next, true);
  });

  it('ends pending waits with false on close', async () => {
    const other = await FinishedNotifier.start(redis);
    const waiting = other.wait('job-4', 5_000);
    await other.close();
    assert.equal(await waiting, false);
  });
});

async function waitForSubscriber(redis: Redis): Promise<void> {
  for (const deadline = Date.now() + 5_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 10))) {
    const [, count] = (await redis.pubsub('NUMSUB', CHANNEL_FINISHED)) as [string, number];
    if (count > 0) return;
  }
  throw new Error(`nobody subscribed to ${CHANNEL_FINISHED}`);
}

async function clientCount(redis: Redis): Promise<number> {
  const list = (await redis.client('LIST')) as string;
  return list.split('\n').filter((line) => line.trim() !== '').length;
}
