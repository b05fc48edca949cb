/**
 * A connection closes in bounded time whatever Redis does: after an outage (QUIT would wait in
 * ioredis' offline queue until Redis returns) and while Redis hangs (SIGSTOP: no reply to QUIT).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { closeRedis } from '../../queue/redis-close.js';
import { startRedis, startRedisOn, type TestRedis } from '../helpers/redis.js';

const started: TestRedis[] = [];
after(async () => {
  for (const r of started) {
    try {
      process.kill(r.pid, 'SIGCONT');
    } catch {
      // gone already
    }
    await r.stop();
  }
});

async function connected(): Promise<{ server: TestRedis; client: Redis }> {
  const server = await startRedis();
  started.push(server);
  const client = new Redis(server.url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
  client.on('error', () => {});
  await client.ping();
  return { server, client };
}

describe('queue: closeRedis', () => {
  it('closes a connection whose Redis is gone (it is reconnecting) at once, and it never reconnects', async () => {
    const { server, client } = await connected();
    await server.stop();
    while (client.status === 'ready') await new Promise((r) => setTimeout(r, 20));
    await closeRedis(client);
    started.push(await startRedisOn(server.port));
    await new Promise((r) => setTimeout(r, 500));
    assert.notEqual(client.status, 'ready', 'a closed connection must not come back with its Redis');
  });

  it('gives a Redis that does not answer QUIT its timeout, then drops the connection', async () => {
    const { server, client } = await connected();
    process.kill(server.pid, 'SIGSTOP');
    await closeRedis(client, 200);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(client.status, 'end');
    process.kill(server.pid, 'SIGCONT');
  });

  it('quits a healthy connection', async () => {
    const { client } = await connected();
    await closeRedis(client);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(client.status, 'end');
  });
});
