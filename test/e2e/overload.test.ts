/**
 * Overload refusal end to end: a real server with one worker slot and a queue threshold of 3
 * refuses new jobs with 503 `overloaded` and Retry-After while the queue is past it, accepts again
 * once the worker has drained it, and every job it accepted finishes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

const MAX_QUEUED = 3;
let redis: TestRedis;
let server: TestServer;

before(async () => {
  redis = await startRedis();
  server = await startServer({
    redisUrl: redis.url,
    env: { WARMBOX_CONCURRENCY: '1', WARMBOX_OVERLOAD_QUEUED: String(MAX_QUEUED), WARMBOX_OVERLOAD_AGE_MS: '0' },
  });
});
after(async () => {
  await server?.stop();
  await redis?.stop();
});

interface Answer {
  status: number;
  retryAfter: string | null;
  json: { id?: string; error?: { code: string; message: string; queued?: number } };
}

async function submit(cmd: string[]): Promise<Answer> {
  const res = await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: 'busybox', cmd }) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), json: (await res.json()) as Answer['json'] };
}

async function finished(id: string): Promise<{ status: string; result?: { verdict: string } }> {
  for (;;) {
    const job = (await (await fetch(`${server.url}/v1/jobs/${id}`)).json()) as { status: string; result?: { verdict: string } };
    if (job.status === 'finished') return job;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('overload refusal', () => {
  it('refuses past the queue threshold with 503 overloaded and Retry-After, accepts again once drained, and finishes every accepted job', async () => {
    // One slot, jobs of 1 s each, 20 sent back to back: the queue passes 3 long before the worker
    // drains it. (1 s also makes the gate's last sample of the burst stale by the time the queue has
    // drained, so the job after it is judged on a fresh one.)
    const burst: Answer[] = [];
    for (let i = 0; i < 20; i++) burst.push(await submit(['sleep', '1']));
    const accepted = burst.filter((a) => a.status === 202);
    const refused = burst.filter((a) => a.status !== 202);
    assert.ok(accepted.length >= 1, 'the first jobs are accepted');
    assert.ok(refused.length >= 1, `some jobs are refused (accepted ${accepted.length} of ${burst.length})`);
    for (const r of refused) {
      assert.equal(r.status, 503);
      assert.equal(r.json.error?.code, 'overloaded');
      assert.match(r.json.error?.message ?? '', /overloaded/);
      assert.equal(typeof r.json.error?.queued, 'number');
      assert.match(r.retryAfter ?? '', /^[1-9]\d*$/, 'Retry-After in whole seconds');
    }

    // Every accepted job runs to its verdict, refused ones were never recorded.
    for (const a of accepted) assert.equal((await finished(a.json.id!)).result?.verdict, 'ok');
    const listed = (await (await fetch(`${server.url}/v1/jobs?limit=100`)).json()) as { jobs: { id: string }[] };
    assert.equal(listed.jobs.length, accepted.length, 'only the accepted jobs were recorded');

    // Drained: new jobs are accepted again.
    const again = await submit(['true']);
    assert.equal(again.status, 202, JSON.stringify(again.json));
    assert.equal((await finished(again.json.id!)).result?.verdict, 'ok');
  });
});
