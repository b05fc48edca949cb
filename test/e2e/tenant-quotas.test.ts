/**
 * A tenant's policy enforced at submission and on running (README "Quotas"), over HTTP against real
 * servers and a real Redis, the local tenant's policy set by WARMBOX_TENANT_*: the rate limit (429
 * with a Retry-After that is enough, a batch all or none), the queued cap (429), the running cap,
 * limit caps (422 naming the cap), the image allow-list (403, nothing pulled), and the policy's own
 * routes and CLI.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase } from '../../db/client.js';
import { createTenantRow } from '../../db/tenants.js';
import { UNRESTRICTED_POLICY } from '../../contract/tenant.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { CLI, startServer, type TestServer } from '../helpers/warmbox-server.js';

let redis: TestRedis;

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

async function post(server: TestServer, path: string, body: unknown): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json(), headers: res.headers };
}

async function request(server: TestServer, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

async function listed(server: TestServer, label: string): Promise<any[]> {
  return (await (await fetch(`${server.url}/v1/jobs?label=t=${label}&limit=200`)).json()).jobs;
}

describe('the rate limit (2 jobs a minute, burst 3)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ redisUrl: redis.url, env: { WARMBOX_TENANT_RATE: '2/m', WARMBOX_TENANT_BURST: '3' } });
  });
  after(async () => {
    await server?.stop();
  });

  it('takes the burst, refuses a batch above what is left whole, then 429 with a Retry-After after which it takes jobs again', async () => {
    const t = randomUUID();
    const job = { image: 'busybox', cmd: ['true'], labels: { t } };
    for (let i = 0; i < 3; i++) assert.equal((await post(server, '/v1/jobs', job)).status, 202);

    const batch = await post(server, '/v1/jobs/batch', { jobs: [job, job] });
    assert.equal(batch.status, 429, JSON.stringify(batch.json));
    assert.equal(batch.json.error.code, 'rate_limited');
    assert.equal((await listed(server, t)).length, 3, 'nothing of the refused batch was recorded');

    const aboveBurst = await post(server, '/v1/jobs/batch', { jobs: [job, job, job, job] });
    assert.equal(aboveBurst.status, 422, JSON.stringify(aboveBurst.json));
    assert.equal(aboveBurst.json.error.code, 'batch_above_burst');
    assert.equal(aboveBurst.json.error.burst, 3);

    const refused = await post(server, '/v1/jobs', job);
    assert.equal(refused.status, 429, JSON.stringify(refused.json));
    assert.equal(refused.json.error.code, 'rate_limited');
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After: ${refused.headers.get('retry-after')}`);
    await new Promise((r) => setTimeout(r, retryAfter * 1000));
    const accepted = await post(server, '/v1/jobs', job);
    assert.equal(accepted.status, 202, JSON.stringify(accepted.json));
    assert.equal((await listed(server, t)).length, 4);
  });
});

describe('caps, images and the running cap (1 running, 2 queued, 64 MiB, busybox only)', () => {
  let server: TestServer;
  let registry: Server;
  /** Requests the registry saw: a pull would ask it for a manifest. */
  const registryRequests: string[] = [];

  before(async () => {
    registry = createServer((req, res) => {
      registryRequests.push(req.url ?? '');
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"NAME_UNKNOWN","message":"unknown"}]}');
    }).listen(0, '127.0.0.1');
    await once(registry, 'listening');
    const { port } = registry.address() as { port: number };
    server = await startServer({
      redisUrl: redis.url,
      env: {
        WARMBOX_TENANT_MAX_RUNNING: '1',
        WARMBOX_TENANT_MAX_QUEUED: '2',
        WARMBOX_TENANT_MAX_MEMORY: '64m',
        WARMBOX_TENANT_IMAGES: 'busybox,docker.io/library/hello*',
        WARMBOX_REGISTRY_DEFAULT: `127.0.0.1:${port}`,
        WARMBOX_CONCURRENCY: '4',
      },
    });
  });
  after(async () => {
    await server?.stop();
    registry?.close();
  });

  it('refuses a limit above the tenant\'s cap with 422 naming the limit and the cap', async () => {
    const res = await post(server, '/v1/jobs', { image: 'busybox', cmd: ['true'], limits: { memoryBytes: 128 * 1024 * 1024 } });
    assert.equal(res.status, 422, JSON.stringify(res.json));
    assert.equal(res.json.error.code, 'tenant_limit_exceeded');
    assert.equal(res.json.error.field, 'limits.memoryBytes');
    assert.equal(res.json.error.cap, 64 * 1024 * 1024);
    const batch = await post(server, '/v1/jobs/batch', { jobs: [{ image: 'busybox' }, { image: 'busybox', limits: { memoryBytes: 65 * 1024 * 1024 } }] });
    assert.equal(batch.status, 422);
    assert.equal(batch.json.error.field, 'jobs[1].limits.memoryBytes');
    // A job that leaves memory out runs with the cap instead of the larger default.
    const ok = await post(server, '/v1/jobs?wait=true', { image: 'busybox', cmd: ['true'] });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(ok.json.result.verdict, 'ok');
  });

  it('refuses an image outside the allow-list with 403 before any pull', async () => {
    for (const image of ['python:3.12', 'docker.io/library/busybox:1.36', 'quay.io/library/hello-world']) {
      const res = await post(server, '/v1/jobs', { image, cmd: ['true'] });
      assert.equal(res.status, 403, `${image}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error.code, 'image_not_allowed');
    }
    assert.deepEqual(registryRequests, [], 'the registry was never asked');
    // On the list but not in the store: pulled (the registry says it has no such image).
    const listedPrefix = await post(server, '/v1/jobs', { image: 'hello-nothing', cmd: ['true'] });
    assert.equal(listedPrefix.status, 404, JSON.stringify(listedPrefix.json));
    assert.ok(registryRequests.length > 0);
  });

  it('runs one job at a time, keeps the rest queued, and refuses one past the queued cap with 429', async () => {
    const t = randomUUID();
    const job = (cmd: string[]) => post(server, '/v1/jobs', { image: 'busybox', cmd, labels: { t } });
    const first = await job(['sleep', '1000']);
    assert.equal(first.status, 202);
    await until(async () => (await (await fetch(`${server.url}/v1/jobs/${first.json.id}`)).json()).status === 'running');
    // The first holds the tenant's one running slot until it is cancelled: these two stay queued.
    const queued = [await job(['sleep', '1']), await job(['true'])];
    assert.deepEqual(queued.map((r) => r.status), [202, 202]);
    const refused = await job(['true']);
    assert.equal(refused.status, 429, JSON.stringify(refused.json));
    assert.equal(refused.json.error.code, 'too_many_queued');
    assert.equal(refused.json.error.cap, 2);
    assert.ok(refused.headers.get('retry-after'));
    for (const r of queued) assert.equal((await (await fetch(`${server.url}/v1/jobs/${r.json.id}`)).json()).status, 'queued');
    assert.equal((await listed(server, t)).length, 3, 'the refused job was not recorded');

    assert.ok((await post(server, `/v1/jobs/${first.json.id}/cancel`, {})).status < 300);
    const done = await Promise.all([first, ...queued].map((r) => finished(server, r.json.id)));
    assert.equal(done[0].result.verdict, 'cancelled');
    assert.deepEqual(done.slice(1).map((j) => j.result.verdict), ['ok', 'ok']);
    const spans = done.map((j) => ({ start: Date.parse(j.startedAt), end: Date.parse(j.finishedAt) })).sort((a, b) => a.start - b.start);
    for (let i = 1; i < spans.length; i++) assert.ok(spans[i]!.start >= spans[i - 1]!.end, `jobs overlapped: ${JSON.stringify(spans)}`);
  });

  it('shows the local tenant\'s policy and refuses to change it over HTTP (it is the configuration)', async () => {
    const got = await request(server, 'GET', '/v1/tenants/local/policy');
    assert.equal(got.status, 200);
    assert.equal(got.json.configured, true);
    assert.equal(got.json.policy.maxRunningJobs, 1);
    assert.equal(got.json.policy.limitCaps.memoryBytes, 64 * 1024 * 1024);
    assert.deepEqual(got.json.policy.images, ['docker.io/library/busybox:latest', 'docker.io/library/hello*']);
    const put = await request(server, 'PUT', '/v1/tenants/local/policy', { maxRunningJobs: 4 });
    assert.equal(put.status, 409);
    assert.equal(put.json.error.code, 'tenant_policy_configured');
    assert.equal((await request(server, 'GET', '/v1/tenants/nobody/policy')).status, 404);
    assert.equal((await request(server, 'PUT', '/v1/tenants/nobody/policy', {})).status, 404);
    const aboveMax = await request(server, 'PUT', '/v1/tenants/nobody/policy', { limitCaps: { memoryBytes: 2 ** 50 } });
    assert.equal(aboveMax.status, 422, JSON.stringify(aboveMax.json));
    assert.equal(aboveMax.json.error.field, 'limitCaps.memoryBytes');
    const tooShort = await request(server, 'PUT', '/v1/tenants/nobody/policy', { retentionSeconds: 60 });
    assert.equal(tooShort.status, 400, JSON.stringify(tooShort.json));
    assert.equal(tooShort.json.error.field, 'retentionSeconds');
  });

  it('warmbox tenants policy: shows it over HTTP; with --data changes a stored tenant\'s in the host database', async () => {
    const shown = spawnSync(process.execPath, [CLI, 'tenants', 'policy', 'local', '--json', '--url', server.url], { encoding: 'utf8' });
    assert.equal(shown.status, 0, shown.stderr);
    assert.equal(JSON.parse(shown.stdout).policy.maxQueuedJobs, 2);
    const refused = spawnSync(process.execPath, [CLI, 'tenants', 'policy', 'local', '--rate', '5/s', '--url', server.url], { encoding: 'utf8' });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /WARMBOX_TENANT_/);

    const dataDir = mkdtempSync(join(tmpdir(), 'warmbox-tenant-policy-'));
    try {
      const handle = await openDatabase(join(dataDir, 'warmbox.db'));
      await createTenantRow(handle.db, { id: 'tnt_acme', name: 'acme', policy: { ...UNRESTRICTED_POLICY }, createdAt: Date.now() });
      await handle.close();
      const args = ['tenants', 'policy', 'acme', '--data', dataDir, '--json', '--rate', '10/s', '--burst', '20', '--max-memory', '512m', '--images', 'busybox,docker.io/library/python*', '--network', 'off', '--retention', '7d'];
      const set = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
      assert.equal(set.status, 0, set.stderr);
      const policy = JSON.parse(set.stdout).policy;
      assert.deepEqual(policy.rate, { perSecond: 10, burst: 20 });
      assert.equal(policy.limitCaps.memoryBytes, 512 * 1024 * 1024);
      assert.deepEqual(policy.images, ['docker.io/library/busybox:latest', 'docker.io/library/python*']);
      assert.equal(policy.network, false);
      assert.equal(policy.retentionSeconds, 7 * 86_400);
      const bad = spawnSync(process.execPath, [CLI, 'tenants', 'policy', 'acme', '--data', dataDir, '--max-memory', '1t'], { encoding: 'utf8' });
      assert.notEqual(bad.status, 0);
      assert.match(bad.stderr, /limitCaps\.memoryBytes/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

async function finished(server: TestServer, id: string): Promise<any> {
  for (;;) {
    const job = await (await fetch(`${server.url}/v1/jobs/${id}`)).json();
    if (job.status === 'finished') return job;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 50));
}
