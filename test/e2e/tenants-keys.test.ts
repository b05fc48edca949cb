/**
 * Tenants and keys as an operator meets them: a server that listens beyond loopback needs auth
 * (it refuses to start without), the first admin key is made with `warmbox keys` on the host, a
 * tenant and its key over HTTP, jobs run with that key, a revoked key stops working, and no token
 * ever reaches the server's log.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startEmptyRegistry, type EmptyRegistry } from '../helpers/empty-registry.js';
import { freePort, runCli, startServer, type TestServer } from '../helpers/warmbox-server.js';

let registry: EmptyRegistry;
let server: TestServer;
/** Every token the test made: none may appear in the server's log. */
const tokens: string[] = [];

before(async () => {
  registry = await startEmptyRegistry();
  // 0.0.0.0, no WARMBOX_AUTH: auth is on by default. The test reaches it on loopback.
  server = await startServer({ listenHost: '0.0.0.0', env: { WARMBOX_REGISTRY_DEFAULT: registry.host, WARMBOX_LOG_LEVEL: 'debug', WARMBOX_LOG_FORMAT: 'json' } });
});
after(async () => {
  await server?.stop();
  await registry?.stop();
});

const onHost = () => ({ WARMBOX_DATA: server.dataDir });
const overHttp = (key: string) => ({ WARMBOX_URL: server.url, WARMBOX_API_KEY: key });

async function makeKey(args: string[], env: Record<string, string>): Promise<{ token: string; id: string }> {
  const r = await runCli(['keys', 'create', ...args], env);
  assert.equal(r.code, 0, r.stderr);
  const token = r.stdout.trim();
  assert.match(token, /^wbx_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  assert.match(r.stderr, /shown this once/);
  tokens.push(token);
  return { token, id: token.split('_')[1]! };
}

describe('a server beyond loopback', () => {
  it('refuses to start with auth off, saying why and what to do', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warmbox-e2e-auth-off-'));
    try {
      const r = await runCli(['server'], { WARMBOX_DATA: dataDir, WARMBOX_LISTEN: `0.0.0.0:${await freePort()}`, WARMBOX_AUTH: 'off' });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /WARMBOX_AUTH=off.*beyond loopback/);
      assert.match(r.stderr, /warmbox keys create/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('starts with auth on, and answers requests without a key 401 (probes excepted)', async () => {
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const res = await fetch(`${server.url}/v1/jobs`);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    const r = await runCli(['run', 'busybox', 'true'], { WARMBOX_URL: server.url });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /API key/);
  });
});

describe('warmbox keys and warmbox tenants', () => {
  it('make the first admin key on the host, then a tenant and its key over HTTP, which runs jobs', async () => {
    const admin = await makeKey(['--tenant', 'local', '--scope', 'admin', '--name', 'ops'], onHost());
    const tenant = await runCli(['tenants', 'create', 'acme'], overHttp(admin.token));
    assert.equal(tenant.code, 0, tenant.stderr);
    const tenantId = tenant.stdout.trim();
    assert.match(tenantId, /^ten_[0-9a-f]{16}$/);
    const client = await makeKey(['--tenant', 'acme', '--name', 'ci'], overHttp(admin.token));

    const run = await runCli(['run', 'busybox', 'echo', 'hi'], overHttp(client.token));
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'hi\n');
    // --api-key works as the variable does.
    const flagged = await runCli(['--api-key', client.token, 'ps', '-a', '--url', server.url], {});
    assert.equal(flagged.code, 0, flagged.stderr);

    const jobs = (await (await fetch(`${server.url}/v1/jobs`, { headers: { authorization: `Bearer ${client.token}` } })).json()) as { jobs: { tenantId: string }[] };
    assert.ok(jobs.jobs.length >= 1 && jobs.jobs.every((j) => j.tenantId === tenantId));

    const listed = await runCli(['keys', 'list'], onHost());
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${admin.id}\\s+local\\s+ops\\s+admin`));
    assert.match(listed.stdout, new RegExp(`${client.id}\\s+${tenantId}\\s+ci\\s+jobs:submit,jobs:read`));
    const overHttpList = await runCli(['keys', 'list', '--tenant', 'acme', '--json'], overHttp(admin.token));
    assert.deepEqual((JSON.parse(overHttpList.stdout) as { id: string }[]).map((k) => k.id), [client.id]);
    for (const token of tokens) assert.ok(!listed.stdout.includes(token.slice(-43)) && !overHttpList.stdout.includes(token.slice(-43)));

    const tenants = await runCli(['tenants', 'list'], onHost());
    assert.match(tenants.stdout, /acme/);
  });

  it('revoke a key over HTTP and on the host: it is refused at once', async () => {
    const admin = await makeKey(['--tenant', 'local', '--scope', 'admin'], onHost());
    const a = await makeKey(['--tenant', 'local'], onHost());
    const b = await makeKey(['--tenant', 'local'], overHttp(admin.token));
    const get = (token: string) => fetch(`${server.url}/v1/jobs`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
    assert.equal(await get(a.token), 200);
    assert.equal(await get(b.token), 200);
    assert.equal((await runCli(['keys', 'revoke', a.id], overHttp(admin.token))).code, 0);
    assert.equal((await runCli(['keys', 'revoke', b.id], onHost())).code, 0);
    assert.equal(await get(a.token), 401);
    assert.equal(await get(b.token), 401);
    const listed = await runCli(['keys', 'list', '--json'], onHost());
    const revoked = (JSON.parse(listed.stdout) as { id: string; revokedAt: string | null }[]).filter((k) => k.revokedAt !== null).map((k) => k.id);
    assert.ok(revoked.includes(a.id) && revoked.includes(b.id));
    const unknown = await runCli(['keys', 'revoke', '0000000000000000'], onHost());
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /no API key/);
  });

  it('never write a token to the server log', async () => {
    // An error path too: a refused submission is logged, with its key's request.
    const key = tokens[1]!;
    const refused = await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{"image":"busybox","limits":{"memoryBytes":1e15}}' });
    assert.equal(refused.status, 422);
    await new Promise((r) => setTimeout(r, 200));
    const log = readFileSync(server.logFile, 'utf8');
    assert.match(log, /job refused/, 'the log is captured');
    assert.match(log, /API key created/);
    for (const token of tokens) {
      assert.ok(!log.includes(token.slice(-43)), `the secret of ${token.split('_')[1]} is not in the log`);
    }
  });
});
