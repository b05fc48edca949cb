/** Cancelling jobs: a queued one leaves the queue at once, a running one has its sandbox killed. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { CLI, startServer, type TestServer } from '../helpers/warmbox-server.js';

let redis: TestRedis;
let server: TestServer;

before(async () => {
  redis = await startRedis();
  // One job at a time, so that a second one stays queued.
  server = await startServer({ redisUrl: redis.url, env: { WARMBOX_CONCURRENCY: '1' } });
});
after(async () => {
  await server?.stop();
  await redis?.stop();
});

async function submit(cmd: string[]): Promise<string> {
  const res = await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: 'busybox', cmd, limits: { wallTimeMs: 60_000 } }) });
  assert.equal(res.status, 202);
  return ((await res.json()) as { id: string }).id;
}

async function job(id: string): Promise<any> {
  return (await fetch(`${server.url}/v1/jobs/${id}`)).json();
}

async function until(id: string, status: string): Promise<any> {
  for (;;) {
    const j = await job(id);
    if (j.status === status) return j;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function cancel(id: string): Promise<Response> {
  return fetch(`${server.url}/v1/jobs/${id}/cancel`, { method: 'POST' });
}

describe('POST /v1/jobs/{id}/cancel', () => {
  it('takes a queued job out of the queue at once, and stops a running one', async () => {
    const running = await submit(['sleep', '30']);
    await until(running, 'running');
    const queued = await submit(['echo', 'never']);

    const r1 = await cancel(queued);
    assert.equal(r1.status, 200);
    const q = await r1.json();
    assert.equal(q.status, 'finished');
    assert.equal(q.result.verdict, 'cancelled');

    const r2 = await cancel(running);
    assert.equal(r2.status, 202);
    const done = await until(running, 'finished');
    assert.equal(done.result.verdict, 'cancelled');
    assert.ok(done.result.usage.wallTimeMs < 30_000);
  });

  it('answers 409 for a finished job and 404 for an unknown one', async () => {
    const id = await submit(['true']);
    await until(id, 'finished');
    const r = await cancel(id);
    assert.equal(r.status, 409);
    assert.equal((await r.json()).error.code, 'job_finished');
    assert.equal((await cancel('01ARZ3NDEKTSV4RRFFQ69G5FAV')).status, 404);
  });
});

describe('warmbox run and Ctrl-C', () => {
  it('cancels the job and exits 130', async () => {
    const child = spawn(process.execPath, [CLI, 'run', 'busybox', '--', 'sh', '-c', 'echo started; sleep 30'], {
      env: { PATH: process.env.PATH ?? '', WARMBOX_URL: server.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const [first] = (await once(child.stdout, 'data')) as [Buffer];
    assert.equal(first.toString(), 'started\n');
    child.kill('SIGINT');
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 130);
    assert.match(stderr, /cancelled/);
  });
});
