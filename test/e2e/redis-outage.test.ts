/**
 * Redis unreachable: a submission fails fast with 503 and Retry-After (ioredis would otherwise
 * queue the command offline and hold the request through the whole outage), nothing is
 * acknowledged, and once Redis is back the server takes and runs jobs again without a restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRedis, startRedisOn, type TestRedis } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

/** Far above the server's enqueue bound: a request still unanswered then is hanging. */
const HANG_MS = 20_000;
const RECOVERY_MS = 60_000;

let redis: TestRedis;
let server: TestServer;

before(async () => {
  redis = await startRedis();
  server = await startServer({ redisUrl: redis.url });
});
after(async () => {
  await server?.stop();
  await redis?.stop();
});

function submit(body: object): Promise<Response> {
  return fetch(`${server.url}/v1/jobs?wait=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(HANG_MS),
  });
}

const ECHO = { image: 'busybox', cmd: ['echo', 'hi'] };

describe('e2e: Redis goes away and comes back', () => {
  it('runs a job while Redis is up', async () => {
    const res = await submit(ECHO);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(((await res.json()) as { result: { stdout: string } }).result.stdout, 'hi\n');
  });

  it('answers 503 queue_unavailable with Retry-After while Redis is down, instead of hanging', async () => {
    process.kill(redis.pid, 'SIGKILL');
    await redis.stop();
    for (let i = 0; i < 3; i++) {
      const res = await submit(ECHO);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(res.status, 503, JSON.stringify(body));
      assert.equal(body.error.code, 'queue_unavailable');
      assert.ok(Number(res.headers.get('retry-after')) > 0, 'a 503 says when to retry');
      assert.equal(res.headers.get('location'), null, 'no job was acknowledged');
    }
  });

  it('takes and runs jobs again once Redis is back, without a restart', async () => {
    redis = await startRedisOn(redis.port);
    const deadline = Date.now() + RECOVERY_MS;
    let last = '';
    while (Date.now() < deadline) {
      const res = await submit(ECHO);
      last = `${res.status} ${await res.clone().text()}`;
      if (res.status === 200) {
        const job = (await res.json()) as { result: { verdict: string; stdout: string } };
        assert.equal(job.result.verdict, 'ok');
        assert.equal(job.result.stdout, 'hi\n');
        return;
      }
      assert.equal(res.status, 503, last);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.fail(`no job ran within ${RECOVERY_MS} ms of Redis coming back; last answer: ${last}`);
  });
});
