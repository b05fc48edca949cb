/** Warm pools over HTTP and the CLI: a real server, a real Redis, real sandboxes. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { runCli, startServer, type TestServer } from '../helpers/warmbox-server.js';

let redis: TestRedis;
let server: TestServer;

before(async () => {
  redis = await startRedis();
  // The default pre-warm list: one busybox sandbox parked at start.
  server = await startServer({ redisUrl: redis.url });
});
after(async () => {
  await server?.stop();
  await redis?.stop();
});

async function request(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

async function runJob(cmd: string[] = ['true']): Promise<any> {
  const { status, json } = await request('POST', '/v1/jobs?wait=true', { image: 'busybox', cmd });
  assert.equal(status, 200, JSON.stringify(json));
  return json.result;
}

/** The busybox pool of the one worker, as GET /v1/pools shows it. */
async function busyboxPool(): Promise<any> {
  const { json } = await request('GET', '/v1/pools');
  return json.workers[0]?.pools.find((p: any) => p.image === 'docker.io/library/busybox:latest');
}

/** Polls GET /v1/pools until `ok` holds for the busybox pool (workers publish every second). */
async function untilPool(ok: (pool: any) => boolean, what: string, timeoutMs = 15_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let pool: any;
  while (Date.now() < deadline) {
    pool = await busyboxPool();
    if (pool && ok(pool)) return pool;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`busybox pool never ${what}; last seen: ${JSON.stringify(pool)}`);
}

describe('GET /v1/pools', () => {
  it('lists this worker with its parked busybox sandboxes, bounds, claims and rates', async () => {
    const pool = await untilPool((p) => p.parked >= 1, 'had a parked sandbox');
    const { json } = await request('GET', '/v1/pools');
    assert.equal(json.workers.length, 1);
    const [worker] = json.workers;
    assert.match(worker.id, /^.+-\d+$/);
    assert.equal(worker.id, `${worker.hostname}-${worker.pid}`);
    assert.ok(worker.parkedTotal >= 1);
    assert.equal(worker.maxParkedTotal, 512);
    for (const k of ['parked', 'target', 'min', 'max', 'claims', 'warmClaims', 'coldStarts', 'claimRate', 'refillRate']) {
      assert.equal(typeof pool[k], 'number', k);
    }
    assert.deepEqual([pool.min, pool.max], [1, 16]); // WARMBOX_PREWARM busybox=1, WARMBOX_POOL_MAX 16
    assert.deepEqual(json.bounds, []);
  });
});

describe('warm starts', () => {
  it('after a job the pool refills, and the next job starts warm', async () => {
    await untilPool((p) => p.parked >= 1, 'had a parked sandbox');
    const first = await runJob();
    assert.equal(first.start, 'warm');
    const after = await untilPool((p) => p.parked >= 1 && p.claims >= 1, 'refilled after the job');
    assert.ok(after.warmClaims >= 1);
    const next = await runJob(['echo', 'warm']);
    assert.equal(next.verdict, 'ok');
    assert.equal(next.start, 'warm');
  });
});

describe('PUT /v1/pools/{image}', () => {
  it('with max 0 makes the next jobs cold, and setting bounds again makes them warm', async () => {
    const { status, json } = await request('PUT', '/v1/pools/busybox', { min: 0, max: 0 });
    assert.equal(status, 200);
    assert.deepEqual({ ...json, updatedAt: 0 }, { image: 'docker.io/library/busybox:latest', min: 0, max: 0, updatedAt: 0 });
    await untilPool((p) => p.max === 0 && p.parked === 0 && p.creating === 0, 'emptied');
    for (let i = 0; i < 3; i++) assert.equal((await runJob()).start, 'cold');

    await request('PUT', '/v1/pools/busybox', { min: 2, max: 4 });
    await untilPool((p) => p.min === 2 && p.parked >= 2, 'filled to its new minimum');
    assert.equal((await runJob()).start, 'warm');
    const { json: view } = await request('GET', '/v1/pools');
    assert.deepEqual(
      view.bounds.map((b: any) => [b.image, b.min, b.max]),
      [['docker.io/library/busybox:latest', 2, 4]],
    );
  });

  it('takes a URL-encoded full reference', async () => {
    const { status, json } = await request('PUT', `/v1/pools/${encodeURIComponent('docker.io/library/busybox:latest')}`, { min: 1, max: 16 });
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.image, 'docker.io/library/busybox:latest');
    assert.deepEqual([json.min, json.max], [1, 16]);
  });

  it('answers 422 for max above the server maximum, naming it', async () => {
    const { status, json } = await request('PUT', '/v1/pools/busybox', { min: 0, max: 100_000 });
    assert.equal(status, 422);
    assert.equal(json.error.code, 'above_maximum');
    assert.equal(json.error.field, 'max');
    assert.equal(json.error.maximum, 4096);
  });

  it('answers 422 for min above max', async () => {
    const { status, json } = await request('PUT', '/v1/pools/busybox', { min: 3, max: 2 });
    assert.equal(status, 422);
    assert.equal(json.error.code, 'min_above_max');
  });

  it('answers 400 for bounds that are not whole numbers, and for unknown fields', async () => {
    for (const body of [{ min: 1.5, max: 2 }, { min: -1, max: 2 }, { min: '1', max: 2 }, { min: 1 }, { min: 1, max: 2, extra: true }]) {
      const { status, json } = await request('PUT', '/v1/pools/busybox', body);
      assert.equal(status, 400, JSON.stringify(body));
      assert.equal(json.error.code, 'invalid_request');
    }
  });

  it('answers 404 for an image that is not in the store', async () => {
    const { status, json } = await request('PUT', '/v1/pools/no-such-image', { min: 0, max: 1 });
    assert.equal(status, 404);
    assert.equal(json.error.code, 'image_not_found');
  });
});

describe('GET /openapi.json', () => {
  it('describes the pool routes', async () => {
    const { json: doc } = await request('GET', '/openapi.json');
    assert.ok(doc.paths['/v1/pools']?.get);
    assert.ok(doc.paths['/v1/pools/{image}']?.put);
    assert.ok(doc.components.schemas.PoolStats);
  });
});

describe('warmbox pools', () => {
  it('prints a table of every worker and image', async () => {
    await untilPool((p) => p.parked >= 1, 'had a parked sandbox');
    const r = await runCli(['pools'], { WARMBOX_URL: server.url });
    assert.equal(r.code, 0, r.stderr);
    const [header, ...rows] = r.stdout.trim().split('\n');
    assert.match(header!, /^WORKER\s+IMAGE\s+PARKED\s+TARGET\s+MIN\s+MAX\s+CLAIMS\s+WARM\s+COLD\s+CLAIMS\/S\s+REFILLS\/S$/);
    assert.ok(rows.some((row) => /^\S+-\d+\s+busybox:latest\s+\d/.test(row)), r.stdout);
  });

  it('sets bounds with `pools set IMAGE --min N --max N`', async () => {
    const r = await runCli(['pools', 'set', 'busybox', '--min', '1', '--max', '6'], { WARMBOX_URL: server.url });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'docker.io/library/busybox:latest: min 1, max 6\n');
    const bad = await runCli(['pools', 'set', 'busybox', '--min', '2', '--max', '1'], { WARMBOX_URL: server.url });
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /min 2 is above max 1/);
  });

  it('documents pools, pools set and worker in --help', async () => {
    const pools = await runCli(['pools', '--help']);
    assert.equal(pools.code, 0);
    assert.match(pools.stdout, /Usage: warmbox pools/);
    const set = await runCli(['pools', 'set', '--help']);
    assert.equal(set.code, 0);
    for (const flag of ['--min N', '--max N']) assert.ok(set.stdout.includes(flag), flag);
    const worker = await runCli(['worker', '--help']);
    assert.equal(worker.code, 0);
    assert.match(worker.stdout, /--redis-url URL/);
    const top = await runCli(['--help']);
    for (const command of ['worker', 'pools']) assert.match(top.stdout, new RegExp(`^  ${command} `, 'm'));
  });
});
