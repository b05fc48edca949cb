/**
 * A tenant sees and acts on its own jobs, triggers and Idempotency-Keys only: another tenant's
 * job or trigger is answered 404 as an unknown one (its existence does not leak) and is absent
 * from listings; an admin key sees every tenant's, and narrows a listing with `?tenant=`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Scope } from '../../contract/api-key.js';
import { getJob } from '../../db/jobs.js';
import { issueKey, makeTenant } from '../../api/tenant-admin.js';
import { finish, startApiHarness, type ApiHarness, type ErrorJson } from './harness.js';

let h: ApiHarness;
let alice: string;
let bob: string;
let admin: string;
let aliceId: string;
let bobId: string;

const ALL: Scope[] = ['jobs:submit', 'jobs:read'];

before(async () => {
  h = await startApiHarness({ auth: true });
  aliceId = (await makeTenant(h.handle.db, 'alice')).id;
  bobId = (await makeTenant(h.handle.db, 'bob')).id;
  alice = (await issueKey(h.handle.db, { tenant: 'alice', scopes: ALL })).token;
  bob = (await issueKey(h.handle.db, { tenant: 'bob', scopes: ALL })).token;
  admin = (await issueKey(h.handle.db, { tenant: 'local', scopes: ['admin'] })).token;
});
after(async () => h.close());

async function call(token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await h.app.request(path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function submit(token: string, headers: Record<string, string> = {}): Promise<{ id: string; tenantId: string }> {
  const res = await call(token, 'POST', '/v1/jobs', { image: 'busybox', cmd: ['true'] }, headers);
  assert.equal(res.status, 202, JSON.stringify(res.json));
  return res.json;
}

describe("another tenant's jobs", () => {
  it('records the tenant of each job and shows it', async () => {
    const job = await submit(alice);
    assert.equal(job.tenantId, aliceId);
    assert.equal((await getJob(h.handle.db, job.id))?.tenantId, aliceId);
  });

  it('are 404 job_not_found on GET, cancel, events and deliveries, and stay as they were', async () => {
    const job = await submit(alice);
    for (const [method, path] of [
      ['GET', `/v1/jobs/${job.id}`],
      ['POST', `/v1/jobs/${job.id}/cancel`],
      ['GET', `/v1/jobs/${job.id}/events`],
      ['GET', `/v1/jobs/${job.id}/deliveries`],
    ] as const) {
      const res = await call(bob, method, path);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal((res.json as ErrorJson).error.code, 'job_not_found');
      const unknown = await call(bob, method, path.replace(job.id, '01NOSUCHJOB000000000000000'));
      assert.equal((unknown.json as ErrorJson).error.message.replace('01NOSUCHJOB000000000000000', job.id), (res.json as ErrorJson).error.message, 'answered as an unknown job is');
    }
    assert.equal((await getJob(h.handle.db, job.id))?.status, 'queued', "bob's cancel did nothing");
    assert.equal((await call(alice, 'GET', `/v1/jobs/${job.id}`)).status, 200);
    assert.equal((await call(alice, 'GET', `/v1/jobs/${job.id}/deliveries`)).status, 200);
    await finish(h, job.id);
    const events = await h.app.request(`/v1/jobs/${job.id}/events`, { headers: { authorization: `Bearer ${alice}` } });
    assert.equal(events.status, 200);
    await events.body?.cancel();
  });

  it('are absent from the listing; ?tenant= of another tenant is 403 for a non-admin', async () => {
    const mine = await submit(bob);
    const theirs = await submit(alice);
    const list = await call(bob, 'GET', '/v1/jobs?limit=200');
    const ids = list.json.jobs.map((j: { id: string }) => j.id);
    assert.ok(ids.includes(mine.id));
    assert.ok(!ids.includes(theirs.id));
    assert.ok(list.json.jobs.every((j: { tenantId: string }) => j.tenantId === bobId));
    assert.equal((await call(bob, 'GET', '/v1/jobs?tenant=alice')).status, 403);
    assert.equal((await call(bob, 'GET', '/v1/jobs?tenant=bob')).status, 200);
  });

  it('are all visible to an admin key, which narrows with ?tenant=', async () => {
    const job = await submit(alice);
    assert.equal((await call(admin, 'GET', `/v1/jobs/${job.id}`)).status, 200);
    const all = await call(admin, 'GET', '/v1/jobs?limit=200');
    const tenants = new Set(all.json.jobs.map((j: { tenantId: string }) => j.tenantId));
    assert.ok(tenants.has(aliceId) && tenants.has(bobId));
    const onlyAlice = await call(admin, 'GET', '/v1/jobs?tenant=alice&limit=200');
    assert.ok(onlyAlice.json.jobs.length > 0 && onlyAlice.json.jobs.every((j: { tenantId: string }) => j.tenantId === aliceId));
    assert.equal((await call(admin, 'GET', '/v1/jobs?tenant=nobody')).status, 404);
  });
});

describe('Idempotency-Keys', () => {
  it('are per tenant: the same key from two tenants records two jobs; a retry within one replays', async () => {
    const key = { 'idempotency-key': 'same-key-for-both' };
    const a = await submit(alice, key);
    const b = await submit(bob, key);
    assert.notEqual(a.id, b.id);
    assert.equal(b.tenantId, bobId);
    const again = await call(alice, 'POST', '/v1/jobs', { image: 'busybox', cmd: ['true'] }, key);
    assert.equal(again.json.id, a.id);
  });
});

describe("another tenant's triggers", () => {
  it('are 404 on GET, PATCH and DELETE and absent from the listing', async () => {
    const made = await call(alice, 'POST', '/v1/triggers', { job: { image: 'busybox', cmd: ['true'] } });
    assert.equal(made.status, 201, JSON.stringify(made.json));
    assert.equal(made.json.tenantId, aliceId);
    const id = made.json.id as string;
    for (const [method, body] of [['GET', undefined], ['PATCH', { enabled: false }], ['DELETE', undefined]] as const) {
      const res = await call(bob, method, `/v1/triggers/${id}`, body);
      assert.equal(res.status, 404, method);
      assert.equal((res.json as ErrorJson).error.code, 'trigger_not_found');
    }
    const bobs = await call(bob, 'GET', '/v1/triggers');
    assert.ok(!bobs.json.triggers.some((t: { id: string }) => t.id === id));
    const alices = await call(alice, 'GET', '/v1/triggers');
    assert.ok(alices.json.triggers.some((t: { id: string; enabled: boolean }) => t.id === id && t.enabled));
    assert.equal((await call(admin, 'GET', `/v1/triggers/${id}`)).status, 200);
    assert.equal((await call(alice, 'DELETE', `/v1/triggers/${id}`)).status, 204);
  });

  it('start jobs of their own tenant when a webhook delivers to them', async () => {
    const made = await call(alice, 'POST', '/v1/triggers', { job: { image: 'busybox', cmd: ['cat'] }, verification: 'bearer' });
    const res = await h.app.request(`/v1/hooks/${made.json.id}`, { method: 'POST', headers: { authorization: `Bearer ${made.json.secret}`, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 202, await res.clone().text());
    const { jobId } = (await res.json()) as { jobId: string };
    assert.equal((await getJob(h.handle.db, jobId))?.tenantId, aliceId);
    assert.equal((await call(bob, 'GET', `/v1/jobs/${jobId}`)).status, 404);
  });
});

describe('tenants and keys over HTTP (admin keys)', () => {
  it('makes a tenant and a key for it, lists and revokes keys; others get 403', async () => {
    const tenant = await call(admin, 'POST', '/v1/tenants', { name: 'carol' });
    assert.equal(tenant.status, 201, JSON.stringify(tenant.json));
    assert.match(tenant.json.id, /^ten_[0-9a-f]{16}$/);
    assert.equal((await call(admin, 'POST', '/v1/tenants', { name: 'carol' })).status, 409);
    assert.equal((await call(admin, 'POST', '/v1/tenants', { name: 'local' })).status, 422);
    const key = await call(admin, 'POST', '/v1/keys', { tenant: 'carol', name: 'ci', scopes: ['jobs:submit'] });
    assert.equal(key.status, 201, JSON.stringify(key.json));
    assert.match(key.json.token, /^wbx_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.equal(key.json.tenantId, tenant.json.id);
    const submitted = await submit(key.json.token);
    assert.equal(submitted.tenantId, tenant.json.id);
    assert.equal((await call(key.json.token, 'GET', '/v1/jobs')).status, 403, 'jobs:submit does not read');

    const listed = await call(admin, 'GET', '/v1/keys?tenant=carol');
    assert.deepEqual(listed.json.keys.map((k: { id: string }) => k.id), [key.json.id]);
    assert.ok(!JSON.stringify(listed.json).includes(key.json.token.slice(-43)), 'a listing never holds a secret');
    assert.equal((await call(alice, 'GET', '/v1/keys')).status, 403);
    assert.equal((await call(alice, 'POST', '/v1/tenants', { name: 'mallory' })).status, 403);

    assert.equal((await call(admin, 'DELETE', `/v1/tenants/${tenant.json.id}`)).status, 409, 'carol has a queued job');
    assert.equal((await call(admin, 'DELETE', `/v1/keys/${key.json.id}`)).status, 204);
    assert.equal((await call(key.json.token, 'POST', '/v1/jobs', { image: 'busybox' })).status, 401);
    assert.equal((await call(admin, 'DELETE', '/v1/keys/0000000000000000')).status, 404);
  });

  it('deletes a tenant without unfinished jobs, and its keys with it', async () => {
    const tenant = await call(admin, 'POST', '/v1/tenants', { name: 'dave' });
    const key = await call(admin, 'POST', '/v1/keys', { tenant: 'dave' });
    assert.deepEqual(key.json.scopes, ['jobs:submit', 'jobs:read']);
    assert.equal((await call(key.json.token, 'GET', '/v1/jobs')).status, 200);
    assert.equal((await call(admin, 'DELETE', '/v1/tenants/dave')).status, 204);
    assert.equal((await call(key.json.token, 'GET', '/v1/jobs')).status, 401);
    const tenants = await call(admin, 'GET', '/v1/tenants');
    assert.ok(!tenants.json.tenants.some((t: { id: string }) => t.id === tenant.json.id));
    assert.equal((await call(admin, 'DELETE', '/v1/tenants/dave')).status, 404);
  });
});
