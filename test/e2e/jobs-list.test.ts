/** GET /v1/jobs over HTTP: a real server and Redis, real jobs. Filters, summaries, and paging while jobs are added. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

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

async function get(path: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`);
  return { status: res.status, json: await res.json() };
}

async function submit(body: Record<string, unknown>, wait = true): Promise<any> {
  const res = await fetch(`${server.url}/v1/jobs${wait ? '?wait=true' : ''}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.ok(res.status === 200 || res.status === 202, `POST /v1/jobs: ${res.status}`);
  return res.json();
}

describe('GET /v1/jobs', () => {
  const run = randomUUID();

  it('lists summaries newest first (no request, no output), filtered by label, status, verdict, image and time', async () => {
    const t0 = Date.now();
    const ok = await submit({ image: 'busybox', cmd: ['echo', 'secret-output'], labels: { run, kind: 'ok' } });
    const failed = await submit({ image: 'busybox', cmd: ['sh', '-c', 'exit 3'], labels: { run, kind: 'failed' } });
    const sleeping = await submit({ image: 'busybox', cmd: ['sleep', '30'], labels: { run, kind: 'sleeping' } }, false);
    try {
      const all = await get(`/v1/jobs?label=run=${run}`);
      assert.equal(all.status, 200);
      assert.deepEqual(all.json.jobs.map((j: any) => j.id), [sleeping.id, failed.id, ok.id]);
      assert.equal(all.json.next, null);
      const summary = all.json.jobs[2];
      assert.deepEqual(Object.keys(summary).sort(), ['createdAt', 'exitCode', 'finishedAt', 'id', 'image', 'labels', 'startedAt', 'status', 'tenantId', 'verdict']);
      assert.equal(summary.verdict, 'ok');
      assert.equal(summary.exitCode, 0);
      assert.equal(summary.image, 'docker.io/library/busybox:latest');
      assert.ok(!JSON.stringify(all.json).includes('secret-output'), 'no output in a listing');

      const ids = async (q: string) => (await get(`/v1/jobs?label=run=${run}&${q}`)).json.jobs.map((j: any) => j.id);
      assert.deepEqual(await ids('verdict=nonzero_exit'), [failed.id]);
      assert.deepEqual(await ids('status=queued,running'), [sleeping.id]);
      assert.deepEqual(await ids('status=queued&status=running'), [sleeping.id]);
      assert.deepEqual(await ids('label=kind=ok'), [ok.id]);
      assert.deepEqual(await ids('image=busybox'), [sleeping.id, failed.id, ok.id]);
      assert.deepEqual(await ids('image=hello-world'), []);
      assert.deepEqual(await ids(`since=${t0}&until=${new Date(Date.now() + 60_000).toISOString()}`), [sleeping.id, failed.id, ok.id]);
      assert.deepEqual(await ids(`until=${t0}`), []);
    } finally {
      await fetch(`${server.url}/v1/jobs/${sleeping.id}/cancel`, { method: 'POST' });
    }
  });

  it('pages with an opaque cursor; jobs added meanwhile never repeat or hide a row of later pages', async () => {
    const label = randomUUID();
    const first: string[] = [];
    for (let i = 0; i < 7; i++) first.push((await submit({ image: 'busybox', cmd: ['true'], labels: { page: label } }, false)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 20; page++) {
      const res: { json: any } = await get(`/v1/jobs?label=page=${label}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.ok(res.json.jobs.length <= 2);
      seen.push(...res.json.jobs.map((j: any) => j.id));
      await submit({ image: 'busybox', cmd: ['true'], labels: { page: label } }, false);
      cursor = res.json.next;
      if (cursor === null) break;
    }
    assert.equal(new Set(seen).size, seen.length, 'a job twice');
    assert.deepEqual([...seen].slice(-7).reverse(), first, 'every job of before, oldest last');
  });

  it('refuses bad filters, a bad cursor and a limit above the maximum with JSON errors', async () => {
    const cases: [string, number, string][] = [
      ['status=sleeping', 400, 'status'],
      ['verdict=great', 400, 'verdict'],
      ['label=novalue', 400, 'label'],
      ['since=yesterday', 400, 'since'],
      ['cursor=AAAA', 400, 'cursor'],
      ['limit=0', 400, 'limit'],
      ['limit=100000', 422, 'limit'],
    ];
    for (const [q, status, field] of cases) {
      const res = await get(`/v1/jobs?${q}`);
      assert.equal(res.status, status, `${q}: ${JSON.stringify(res.json)}`);
      assert.match(res.json.error.field, new RegExp(`^${field}\\b`), q);
    }
  });

  it('is in the OpenAPI document, with its filters', async () => {
    const doc = (await get('/openapi.json')).json;
    const op = doc.paths['/v1/jobs'].get;
    assert.equal(op.operationId, 'listJobs');
    const names = op.parameters.map((p: any) => p.name).sort();
    assert.deepEqual(names, ['cursor', 'image', 'label', 'limit', 'since', 'status', 'tenant', 'until', 'verdict']);
  });
});
