/**
 * Triggers (webhooks in), over HTTP against a real server, a real Redis and real sandboxes: a
 * GitHub-style signed delivery starts the trigger's job, which sees the body on stdin and as a
 * file and a passed header as a variable; forged, unsigned, wrongly authorised, stale, oversized
 * deliveries and deliveries to a disabled trigger run nothing; a replayed delivery id runs once;
 * the secret never appears again, in an answer or in the server's log.
 */
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startEmptyRegistry, type EmptyRegistry } from '../helpers/empty-registry.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

let redis: TestRedis;
let server: TestServer;
let registry: EmptyRegistry;
/** Every secret a test was given: none may show up in a later answer or in the log. */
const secrets: string[] = [];

before(async () => {
  redis = await startRedis();
  registry = await startEmptyRegistry();
  // debug: the log says as much as it ever does, so that a secret in it would show.
  server = await startServer({ redisUrl: redis.url, env: { WARMBOX_LOG_LEVEL: 'debug', WARMBOX_REGISTRY_DEFAULT: registry.host } });
});
after(async () => {
  await server?.stop();
  await registry?.stop();
  await redis?.stop();
});

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(`${server.url}${path}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text), text };
}

async function makeTrigger(body: Record<string, unknown>): Promise<{ id: string; secret: string; hookPath: string }> {
  const res = await api('POST', '/v1/triggers', body);
  assert.equal(res.status, 201, res.text);
  secrets.push(res.json.secret);
  return res.json;
}

const sign = (secret: string, body: string) => 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');

async function deliver(path: string, body: string, headers: Record<string, string>): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, json: await res.json() };
}

async function jobsOf(triggerId: string): Promise<any[]> {
  const res = await api('GET', `/v1/jobs?label=${encodeURIComponent(`warmbox.trigger=${triggerId}`)}&limit=200`);
  assert.equal(res.status, 200, res.text);
  return res.json.jobs;
}

async function finished(id: string): Promise<any> {
  for (let i = 0; i < 1200; i++) {
    const job = (await api('GET', `/v1/jobs/${id}`)).json;
    if (job.status === 'finished') return job;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id} did not finish`);
}

const SHOW_DELIVERY = ['sh', '-c', 'cat; echo "|"; cat "$WARMBOX_PAYLOAD_FILE"; echo "|event=$WARMBOX_HEADER_X_GITHUB_EVENT|id=$WARMBOX_DELIVERY_ID"'];

describe('triggers: webhooks in', () => {
  it('starts the job of a GitHub-signed delivery, with the body on stdin and as a file, and a passed header as a variable', async () => {
    const trigger = await makeTrigger({ job: { image: 'busybox', cmd: SHOW_DELIVERY }, passHeaders: ['X-GitHub-Event'] });
    assert.match(trigger.secret, /^[A-Za-z0-9_-]{43}$/, 'a generated secret');
    const body = JSON.stringify({ action: 'opened', number: 7, text: 'caf\u00e9 & "quotes"' });
    const delivery = randomUUID();
    const res = await deliver(trigger.hookPath, body, { 'X-Hub-Signature-256': sign(trigger.secret, body), 'X-GitHub-Event': 'push', 'X-GitHub-Delivery': delivery });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    assert.equal(res.json.replayed, false);
    const job = await finished(res.json.jobId);
    assert.equal(job.result.verdict, 'ok', JSON.stringify(job.result));
    assert.equal(job.result.stdout, `${body}|\n${body}|event=push|id=${delivery}\n`);
  });

  it('runs a replayed delivery id once: the replay answers 200 with the first job', async () => {
    const trigger = await makeTrigger({ job: { image: 'busybox', cmd: ['cat'] } });
    const body = '{"n":1}';
    const headers = { 'X-Hub-Signature-256': sign(trigger.secret, body), 'X-GitHub-Delivery': randomUUID() };
    const first = await deliver(trigger.hookPath, body, headers);
    assert.equal(first.status, 202, JSON.stringify(first.json));
    const again = await deliver(trigger.hookPath, body, headers);
    assert.equal(again.status, 200, JSON.stringify(again.json));
    assert.deepEqual(again.json, { jobId: first.json.jobId, deliveryId: headers['X-GitHub-Delivery'], replayed: true });
    await finished(first.json.jobId);
    assert.deepEqual((await jobsOf(trigger.id)).map((j) => j.id), [first.json.jobId]);
    // A generic sender's X-Delivery-Id is a delivery id too.
    const generic = { 'X-Hub-Signature-256': sign(trigger.secret, body), 'X-Delivery-Id': 'generic-1' };
    const a = await deliver(trigger.hookPath, body, generic);
    const b = await deliver(trigger.hookPath, body, generic);
    assert.deepEqual([a.status, b.status, b.json.jobId], [202, 200, a.json.jobId]);
    assert.equal((await jobsOf(trigger.id)).length, 2);
  });

  it('refuses a forged signature, a missing one and a stale delivery with 401, and runs nothing', async () => {
    const trigger = await makeTrigger({ job: { image: 'busybox', cmd: ['cat'] } });
    const body = '{"ref":"refs/heads/main"}';
    const forged = await deliver(trigger.hookPath, body, { 'X-Hub-Signature-256': sign('not-the-secret-at-all', body) });
    assert.equal(forged.status, 401);
    assert.equal(forged.json.error.code, 'unauthorized');
    const tampered = await deliver(trigger.hookPath, body + ' ', { 'X-Hub-Signature-256': sign(trigger.secret, body) });
    assert.equal(tampered.status, 401);
    const missing = await deliver(trigger.hookPath, body, {});
    assert.equal(missing.status, 401);
    const hourAgo = String(Math.floor(Date.now() / 1000) - 3600);
    const stale = await deliver(trigger.hookPath, body, { 'X-Hub-Signature-256': sign(trigger.secret, body), 'X-Webhook-Timestamp': hourAgo });
    assert.equal(stale.status, 401);
    assert.equal(stale.json.error.code, 'stale_delivery');
    assert.deepEqual(await jobsOf(trigger.id), []);
    const view = await api('GET', `/v1/triggers/${trigger.id}`);
    assert.deepEqual(view.json.deliveries.map((d: any) => [d.outcome, d.status, d.jobId]), [
      ['stale', 401, null],
      ['unauthorized', 401, null],
      ['unauthorized', 401, null],
      ['unauthorized', 401, null],
    ]);
  });

  it('checks a bearer token: a wrong or missing one is 401 and runs nothing; the right one starts the job', async () => {
    const secret = 'a-token-of-the-clients-own-choosing';
    const trigger = await makeTrigger({ job: { image: 'busybox', cmd: ['cat'] }, verification: 'bearer', secret });
    assert.equal(trigger.secret, secret);
    assert.equal((await deliver(trigger.hookPath, 'x', { Authorization: 'Bearer a-token-of-the-clients-own-choosinG' })).status, 401);
    assert.equal((await deliver(trigger.hookPath, 'x', { Authorization: secret })).status, 401);
    assert.equal((await deliver(trigger.hookPath, 'x', { 'X-Hub-Signature-256': sign(secret, 'x') })).status, 401);
    assert.deepEqual(await jobsOf(trigger.id), []);
    const ok = await deliver(trigger.hookPath, 'hello', { Authorization: `Bearer ${secret}` });
    assert.equal(ok.status, 202, JSON.stringify(ok.json));
    assert.equal((await finished(ok.json.jobId)).result.stdout, 'hello');
  });

  it('answers a disabled trigger as an unknown one (404), runs nothing, and runs again once enabled', async () => {
    const trigger = await makeTrigger({ job: { image: 'busybox', cmd: ['cat'] } });
    const body = '{}';
    const headers = { 'X-Hub-Signature-256': sign(trigger.secret, body) };
    const disabled = await api('PATCH', `/v1/triggers/${trigger.id}`, { enabled: false });
    assert.equal(disabled.status, 200, disabled.text);
    assert.equal(disabled.json.enabled, false);
    const toDisabled = await deliver(trigger.hookPath, body, headers);
    const toUnknown = await deliver('/v1/hooks/trg_AAAAAAAAAAAAAAAAAAAAAA', body, headers);
    assert.equal(toDisabled.status, 404);
    assert.deepEqual(toDisabled.json, toUnknown.json);
    assert.deepEqual(await jobsOf(trigger.id), []);
    await api('PATCH', `/v1/triggers/${trigger.id}`, { enabled: true });
    assert.equal((await deliver(trigger.hookPath, body, headers)).status, 202);
  });

  it('refuses a body over the trigger\'s limit with 413 and runs nothing', async () => {
    const trigger = await makeTrigger({ job: { image: 'busybox', cmd: ['cat'] }, maxBodyBytes: 100 });
    const big = 'x'.repeat(101);
    const res = await deliver(trigger.hookPath, big, { 'X-Hub-Signature-256': sign(trigger.secret, big) });
    assert.equal(res.status, 413);
    assert.equal(res.json.error.maximum, 100);
    assert.deepEqual(await jobsOf(trigger.id), []);
    const fits = 'x'.repeat(100);
    assert.equal((await deliver(trigger.hookPath, fits, { 'X-Hub-Signature-256': sign(trigger.secret, fits) })).status, 202);
  });

  it('refuses to pass on credential headers, and env the trigger sets itself', async () => {
    for (const passHeaders of [['Authorization'], ['x-hub-signature-256'], ['Cookie']]) {
      const res = await api('POST', '/v1/triggers', { job: { image: 'busybox' }, passHeaders });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.json.error.field, 'passHeaders[0]');
    }
    const clash = await api('POST', '/v1/triggers', { job: { image: 'busybox', env: { WARMBOX_HEADER_X_GITHUB_EVENT: 'x' } } });
    assert.equal(clash.status, 400, clash.text);
    const stdin = await api('POST', '/v1/triggers', { job: { image: 'busybox', stdin: 'x' } });
    assert.equal(stdin.status, 400, stdin.text);
    const tooBig = await api('POST', '/v1/triggers', { job: { image: 'busybox' }, maxBodyBytes: 64 * 1024 * 1024 });
    assert.equal(tooBig.status, 422, tooBig.text);
  });

  it('lists, shows and deletes triggers, never with their secret, and the server log never holds one', async () => {
    const trigger = await makeTrigger({ name: 'to delete', job: { image: 'busybox', cmd: ['true'] }, verification: 'bearer' });
    const list = await api('GET', '/v1/triggers');
    assert.ok(list.json.triggers.some((t: any) => t.id === trigger.id));
    const one = await api('GET', `/v1/triggers/${trigger.id}`);
    assert.equal(one.json.name, 'to delete');
    for (const secret of secrets) {
      assert.ok(!list.text.includes(secret), 'a secret in GET /v1/triggers');
      assert.ok(!one.text.includes(secret), 'a secret in GET /v1/triggers/{id}');
      assert.ok(!readFileSync(server.logFile, 'utf8').includes(secret), 'a secret in the server log');
    }
    assert.equal((await api('DELETE', `/v1/triggers/${trigger.id}`)).status, 204);
    assert.equal((await api('GET', `/v1/triggers/${trigger.id}`)).status, 404);
    assert.equal((await deliver(trigger.hookPath, 'x', { Authorization: `Bearer ${trigger.secret}` })).status, 404);
  });
});
