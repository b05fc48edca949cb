/**
 * Two tenants with different policies on one server with auth on: each key is held to its own
 * tenant's policy, set by an admin over HTTP (`warmbox tenants policy`). A tenant with a rate limit
 * and caps gets 429 and 422 while the other, unrestricted, is accepted for the same requests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { runCli, startServer, type TestServer } from '../helpers/warmbox-server.js';

let redis: TestRedis;
let server: TestServer;

before(async () => {
  redis = await startRedis();
  server = await startServer({ redisUrl: redis.url, env: { WARMBOX_AUTH: 'on' } });
});
after(async () => {
  await server?.stop();
  await redis?.stop();
});

async function key(tenant: string, scope: string, env: Record<string, string>): Promise<string> {
  const r = await runCli(['keys', 'create', '--tenant', tenant, '--scope', scope], env);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

function submit(token: string, body: unknown): Promise<Response> {
  return fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

describe('tenants held to their own policies', () => {
  it('a limited tenant gets 422 above its cap and 429 past its burst; an unrestricted one does not', { timeout: 120_000 }, async () => {
    const admin = await key('local', 'admin', { WARMBOX_DATA: server.dataDir });
    const http = { WARMBOX_URL: server.url, WARMBOX_API_KEY: admin };
    for (const name of ['small', 'big']) assert.equal((await runCli(['tenants', 'create', name], http)).code, 0);
    const policy = await runCli(['tenants', 'policy', 'small', '--rate', '1/m', '--burst', '2', '--max-memory', '64m'], http);
    assert.equal(policy.code, 0, policy.stderr);
    const small = await key('small', 'jobs:submit', http);
    const big = await key('big', 'jobs:submit', http);

    const job = { image: 'busybox', cmd: ['true'] };
    const overCap = await submit(small, { ...job, limits: { memoryBytes: 128 * 1024 * 1024 } });
    assert.equal(overCap.status, 422);
    assert.equal(((await overCap.json()) as { error: { code: string } }).error.code, 'tenant_limit_exceeded');
    assert.equal((await submit(big, { ...job, limits: { memoryBytes: 128 * 1024 * 1024 } })).status, 202);

    assert.equal((await submit(small, job)).status, 202);
    assert.equal((await submit(small, job)).status, 202);
    const limited = await submit(small, job);
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    for (let i = 0; i < 3; i++) assert.equal((await submit(big, job)).status, 202, 'the other tenant has no rate limit');
  });
});
