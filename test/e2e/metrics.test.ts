/**
 * GET /metrics end to end: a real server, a real Redis, real sandboxes. Jobs move the latency
 * histograms and counters under the right labels (verdict ok / nonzero_exit, start warm / cold),
 * pulls, pools, the queue and the process are there; every metric the Grafana dashboard
 * (infra/grafana/warmbox.json) queries is in a real scrape; a worker-only process serves its own
 * at WARMBOX_METRICS_LISTEN; and with tracing off nothing is carried in the job.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { packageRoot } from '../../contract/paths.js';
import { startEmptyRegistry, type EmptyRegistry } from '../helpers/empty-registry.js';
import { has, parseSamples, valueOf, type Sample } from '../helpers/prometheus-text.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { CLI, freePort, startServer, type TestServer } from '../helpers/warmbox-server.js';
import { answer, startReceiver } from '../helpers/webhook-receiver.js';

const BUSYBOX = 'docker.io/library/busybox:latest';

let redis: TestRedis;
let registry: EmptyRegistry;
let server: TestServer;

before(async () => {
  redis = await startRedis();
  registry = await startEmptyRegistry();
  server = await startServer({ redisUrl: redis.url, env: { WARMBOX_REGISTRY_DEFAULT: registry.host, WARMBOX_WEBHOOK_ALLOW: 'loopback', WARMBOX_WEBHOOK_ATTEMPTS: '2', WARMBOX_WEBHOOK_BACKOFF_MS: '10' } });
});
after(async () => {
  await server?.stop();
  await registry?.stop();
  await redis?.stop();
});

async function scrape(url = `${server.url}/metrics`): Promise<Sample[]> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseSamples(await res.text());
}

async function request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

async function runJob(cmd: string[], headers: Record<string, string> = {}, extra: object = {}): Promise<any> {
  const { status, json } = await request('POST', '/v1/jobs?wait=true', { image: 'busybox', cmd, ...extra }, headers);
  assert.equal(status, 200, JSON.stringify(json));
  return json;
}

/** The busybox pool as GET /v1/pools shows it, once `ok` holds. */
async function untilPool(ok: (pool: any) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const pool = (await request('GET', '/v1/pools')).json.workers[0]?.pools.find((p: any) => p.image === BUSYBOX);
    if (pool && ok(pool)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`busybox pool not ${what}`);
}

const jobs = (start: string, verdict: string) => ({ image: BUSYBOX, start, verdict });

describe('GET /metrics', () => {
  it('counts jobs in the latency histograms and counters by verdict and start kind', async () => {
    await untilPool((p) => p.parked >= 1, 'pre-warmed');
    const before = await scrape();
    const ok = await runJob(['true']);
    const failed = await runJob(['sh', '-c', 'exit 3']);
    assert.deepEqual([ok.result.verdict, ok.result.start, failed.result.verdict], ['ok', 'warm', 'nonzero_exit']);
    await request('PUT', '/v1/pools/busybox', { min: 0, max: 0 });
    await untilPool((p) => p.max === 0 && p.parked === 0 && p.creating === 0, 'emptied');
    const cold = await runJob(['true']);
    assert.equal(cold.result.start, 'cold');
    await request('PUT', '/v1/pools/busybox', { min: 1, max: 16 });
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels);

    assert.equal(delta('warmbox_job_duration_seconds_count', jobs(failed.result.start, 'nonzero_exit')), 1);
    assert.equal(delta('warmbox_job_duration_seconds_count', jobs('cold', 'ok')), 1);
    assert.equal(delta('warmbox_job_duration_seconds_count', jobs('warm', 'ok')), 1);
    assert.ok(delta('warmbox_job_duration_seconds_sum', jobs('cold', 'ok')) > 0);
    // The histogram's buckets: the +Inf bucket counts every job.
    assert.equal(delta('warmbox_job_duration_seconds_bucket', { ...jobs('cold', 'ok'), le: '+Inf' }), 1);
    for (const phase of ['queued', 'pull', 'acquire', 'run']) assert.equal(delta('warmbox_job_phase_duration_seconds_count', { ...jobs('cold', 'ok'), phase }), 1, phase);
    assert.equal(delta('warmbox_jobs_finished_total', { image: BUSYBOX, verdict: 'ok' }), 2);
    assert.equal(delta('warmbox_jobs_finished_total', { image: BUSYBOX, verdict: 'nonzero_exit' }), 1);
    // The failing job may have found the pool not yet refilled: count the cold starts the jobs say they had.
    const colds = [ok, failed, cold].filter((j) => j.result.start === 'cold').length;
    assert.equal(delta('warmbox_pool_claims_total', { image: BUSYBOX, start: 'cold' }), colds);
    assert.equal(delta('warmbox_pool_claims_total', { image: BUSYBOX, start: 'warm' }), 3 - colds);
    assert.equal(delta('warmbox_sandbox_create_duration_seconds_count', { image: BUSYBOX, kind: 'cold' }), colds);
  });

  it('counts webhook delivery attempts by outcome, and how long each took', async () => {
    const failing = await startReceiver(answer(500));
    const ok = await startReceiver(answer(200));
    try {
      const before = await scrape();
      await runJob(['true'], {}, { webhook: { url: ok.url } });
      await runJob(['true'], {}, { webhook: { url: failing.url } });
      await ok.waitFor(1);
      await failing.waitFor(2);
      let after = await scrape();
      const delta = (outcome: string) => valueOf(after, 'warmbox_webhook_attempts_total', { outcome }) - valueOf(before, 'warmbox_webhook_attempts_total', { outcome });
      for (const deadline = Date.now() + 10_000; delta('dead') < 1 && Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) after = await scrape();
      assert.deepEqual([delta('delivered'), delta('retry'), delta('dead')], [1, 1, 1]);
      assert.equal(valueOf(after, 'warmbox_webhook_attempt_duration_seconds_count', { outcome: 'delivered' }) - valueOf(before, 'warmbox_webhook_attempt_duration_seconds_count', { outcome: 'delivered' }), 1);
    } finally {
      await failing.close();
      await ok.close();
    }
  });

  it('shows the pools, the queue and the process', async () => {
    await untilPool((p) => p.parked >= 1, 'refilled');
    const s = await scrape();
    assert.ok(valueOf(s, 'warmbox_pool_parked', { image: BUSYBOX }) >= 1);
    assert.ok(has(s, 'warmbox_pool_target', { image: BUSYBOX }));
    assert.ok(valueOf(s, 'warmbox_pool_refills_total', { image: BUSYBOX }) >= 1);
    assert.ok(has(s, 'warmbox_pool_refill_failures_total', { image: BUSYBOX }));
    assert.ok(valueOf(s, 'warmbox_sandbox_create_duration_seconds_count', { image: BUSYBOX, kind: 'pool' }) >= 1);
    assert.equal(valueOf(s, 'warmbox_queue_jobs', { state: 'queued' }), 0);
    assert.ok(has(s, 'warmbox_queue_jobs', { state: 'running' }));
    assert.equal(valueOf(s, 'warmbox_queue_oldest_age_seconds'), 0);
    assert.ok(valueOf(s, 'process_cpu_seconds_total', { mode: 'user' }) > 0);
    assert.ok(has(s, 'nodejs_eventloop_delay_seconds', { stat: 'p99' }));
    const target = s.find((x) => x.name === 'target_info')!;
    assert.equal(target.labels.service_name, 'warmbox');
    assert.match(target.labels.service_instance_id ?? '', /^.+-\d+$/);
  });

  it('counts a pull on first use by its outcome', async () => {
    const before = await scrape();
    const { status } = await request('POST', '/v1/jobs', { image: 'no-such-image', cmd: ['true'] });
    assert.equal(status, 404);
    const after = await scrape();
    const image = `docker.io/library/no-such-image:latest`; // references keep their docker.io names (WARMBOX_REGISTRY_DEFAULT)
    const count = (s: Sample[]) => valueOf(s, 'warmbox_image_pull_duration_seconds_count', { image, outcome: 'not_found' });
    assert.equal(count(after) - count(before), 1);
    assert.ok(has(after, 'warmbox_image_pull_bytes_total', { image, outcome: 'not_found' }));
  });

  it('reports the oldest waiting job while none can run', async () => {
    await request('PUT', '/v1/pools/busybox', { min: 0, max: 0 });
    // Eight long jobs fill the worker's slots (WARMBOX_CONCURRENCY 8); the ninth waits.
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) ids.push((await request('POST', '/v1/jobs', { image: 'busybox', cmd: ['sleep', '3'] })).json.id);
    await new Promise((r) => setTimeout(r, 1200));
    const s = await scrape();
    assert.ok(valueOf(s, 'warmbox_queue_jobs', { state: 'queued' }) >= 1);
    assert.ok(valueOf(s, 'warmbox_queue_oldest_age_seconds') >= 0.5, String(valueOf(s, 'warmbox_queue_oldest_age_seconds')));
    for (const id of ids) await request('POST', `/v1/jobs/${id}/cancel`);
    await request('PUT', '/v1/pools/busybox', { min: 1, max: 16 });
  });

  it('is described in the OpenAPI document', async () => {
    const doc = (await request('GET', '/openapi.json')).json;
    assert.ok(doc.paths['/metrics']?.get?.responses?.['200']?.content?.['text/plain; version=0.0.4; charset=utf-8']);
  });
});

describe('tracing off', () => {
  it('carries no trace context in the job, even when the request sends one', async () => {
    const job = await runJob(['true'], { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    const r = new Redis(redis.url);
    try {
      const data = JSON.parse((await r.hget(`warmbox:warmbox-jobs:${job.id}`, 'data')) ?? 'null');
      assert.equal(data?.id, job.id, 'the BullMQ job is still there');
      assert.equal(data.traceparent, undefined);
    } finally {
      r.disconnect();
    }
  });
});

describe('the Grafana dashboard', () => {
  it('queries only metric names a real scrape has', async () => {
    const names = new Set((await scrape()).map((s) => s.name));
    const dashboard = JSON.parse(readFileSync(join(packageRoot(), 'infra/grafana/warmbox.json'), 'utf8'));
    const queried = new Set(promqlOf(dashboard).flatMap(metricNamesIn));
    assert.ok(queried.size >= 10, `the dashboard queries metrics: ${[...queried].join(', ')}`);
    const missing = [...queried].filter((n) => !names.has(n));
    assert.deepEqual(missing, [], `queried by infra/grafana/warmbox.json but not exported: ${missing.join(', ')}`);
  });
});

describe('a worker-only process', () => {
  it('serves its metrics at WARMBOX_METRICS_LISTEN', async () => {
    const port = await freePort();
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', WARMBOX_DATA: server.dataDir, WARMBOX_REDIS_URL: redis.url, WARMBOX_LOG_LEVEL: 'warn', WARMBOX_METRICS_LISTEN: `127.0.0.1:${port}` };
    const child = spawn(process.execPath, [CLI, 'worker'], { env, stdio: 'ignore' });
    try {
      let samples: Sample[] | undefined;
      const deadline = Date.now() + 30_000;
      while (!samples && Date.now() < deadline) {
        samples = await scrape(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
        if (!samples) await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(samples, 'the worker serves /metrics');
      assert.ok(has(samples, 'process_cpu_seconds_total'));
      assert.ok(has(samples, 'warmbox_pool_parked', { image: BUSYBOX }) || has(samples, 'warmbox_pool_claims_total') || has(samples, 'nodejs_eventloop_delay_seconds'));
      assert.ok(!has(samples, 'warmbox_queue_jobs'), "the queue's depth is the API processes' to report");
      const target = samples.find((x) => x.name === 'target_info')!;
      assert.equal(target.labels.service_instance_id?.endsWith(`-${child.pid}`), true);
      assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});

/** Every PromQL expression of a dashboard: its panels' targets and its query variables. */
function promqlOf(dashboard: any): string[] {
  const panels: any[] = (dashboard.panels ?? []).flatMap((p: any) => [p, ...(p.panels ?? [])]);
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t: any) => t.expr as string));
  for (const v of dashboard.templating?.list ?? []) if (v.type === 'query') exprs.push(typeof v.query === 'string' ? v.query : v.query.query);
  return exprs.filter((e) => typeof e === 'string' && e !== '');
}

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/** The metric names in one PromQL expression: identifiers outside label matchers, ranges and strings that are not functions or keywords. */
export function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/label_values\(\s*([^,)]+)(,[^)]*)?\)/g, '$1') // label_values(metric, label): the label is no metric
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const m of bare.matchAll(/(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const isCall = bare.slice(m.index + m[0].length).trimStart().startsWith('(');
    if (!isCall && !PROMQL_WORDS.has(m[0].toLowerCase())) names.push(m[0]);
  }
  return names;
}
