/**
 * Webhooks out, end to end: real servers (each with its own Redis), real sandboxes, receivers on
 * 127.0.0.1. One server allows loopback targets (WARMBOX_WEBHOOK_ALLOW=loopback) and retries
 * quickly; one allows nothing. No address outside loopback is ever contacted: refusals of other
 * ranges happen at submission, before anything connects.
 */
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { classifyAddress } from '../../contract/webhook-target-policy.js';
import { readmeJsVerify, readmePythonVerify } from '../helpers/readme-webhook-recipes.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { answer, startReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';
import { api, eventually, submit, waitForDeliveryState } from './webhooks-client.js';

const SECRET = 'test-secret-0123456789abcdef';
const BACKOFF_MS = 300;
const TIMEOUT_MS = 1500;

const redises: TestRedis[] = [];
let allowing: TestServer;
let strict: TestServer;

async function serverWith(env: Record<string, string>): Promise<TestServer> {
  const redis = await startRedis();
  redises.push(redis);
  return startServer({ redisUrl: redis.url, env });
}

before(async () => {
  [allowing, strict] = await Promise.all([
    serverWith({
      WARMBOX_WEBHOOK_ALLOW: 'loopback',
      WARMBOX_WEBHOOK_SECRET: SECRET,
      WARMBOX_WEBHOOK_ATTEMPTS: '3',
      WARMBOX_WEBHOOK_BACKOFF_MS: String(BACKOFF_MS),
      WARMBOX_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
      WARMBOX_WEBHOOK_CONCURRENCY: '2',
      // One job at a time, so that a second one stays queued (the cancel case).
      WARMBOX_CONCURRENCY: '1',
    }),
    serverWith({ WARMBOX_WEBHOOK_ATTEMPTS: '3', WARMBOX_WEBHOOK_BACKOFF_MS: String(BACKOFF_MS) }),
  ]);
});
after(async () => {
  await Promise.all([allowing?.stop(), strict?.stop()]);
  await Promise.all(redises.map((r) => r.stop()));
});

describe('webhooks: delivery', () => {
  it('POSTs the finished job once, signed so that the README recipes (JS and Python) accept it', async () => {
    const receiver = await startReceiver(answer(200));
    try {
      const id = await submit(allowing, { image: 'busybox', cmd: ['echo', 'hi'], labels: { k: 'v' }, webhook: { url: receiver.url } });
      const [got] = await receiver.waitFor(1);
      const job = await api(allowing, `/v1/jobs/${id}`);
      assert.deepEqual(JSON.parse(got!.body), { type: 'job.finished', deliveryId: `whd_${id}`, job }, 'the body is the job as GET /v1/jobs/{id} shows it');
      assert.equal(job.result.stdout, 'hi\n');
      assert.equal(got!.headers['content-type'], 'application/json');
      assert.equal(got!.headers['warmbox-event'], 'job.finished');
      assert.equal(got!.headers['warmbox-delivery'], `whd_${id}`);
      assert.equal(got!.headers['warmbox-attempt'], '1');

      const header = String(got!.headers['warmbox-signature']);
      assert.match(header, /^t=\d+,v1=[0-9a-f]{64}$/);
      const verify = await readmeJsVerify();
      assert.equal(verify(got!.body, header, SECRET), true, "the README's JavaScript recipe accepts it");
      assert.equal(verify(got!.body.replace('hi', 'ho'), header, SECRET), false, 'and refuses a changed body');
      assert.equal(verify(got!.body, header, 'another-secret-0123456789'), false, 'and another secret');
      const stale = header.replace(/t=(\d+)/, (_, t: string) => `t=${Number(t) - 3600}`);
      assert.equal(verify(got!.body, stale, SECRET), false, 'and an old timestamp');
      assert.equal(await readmePythonVerify(got!.body, header, SECRET), true, "the README's Python recipe accepts it");
      assert.equal(await readmePythonVerify(got!.body.replace('hi', 'ho'), header, SECRET), false);

      const delivery = await waitForDeliveryState(allowing, id, 'delivered');
      assert.equal(delivery.url, receiver.url);
      assert.equal(delivery.attempts.length, 1);
      assert.equal(delivery.attempts[0].statusCode, 200);
      assert.equal(delivery.attempts[0].error, null);
      assert.ok(Number.isInteger(delivery.attempts[0].latencyMs));
      await new Promise((r) => setTimeout(r, 3 * BACKOFF_MS));
      assert.equal(receiver.received.length, 1, 'delivered once');
    } finally {
      await receiver.close();
    }
  });

  it('retries after 500s, each wait longer than the last, and records every attempt', async () => {
    const receiver = await startReceiver((res, n) => res.writeHead(n < 2 ? 500 : 200).end());
    try {
      const id = await submit(allowing, { image: 'busybox', cmd: ['true'], webhook: { url: receiver.url } });
      const got = await receiver.waitFor(3);
      assert.deepEqual(got.map((g) => g.headers['warmbox-attempt']), ['1', '2', '3']);
      assert.deepEqual(new Set(got.map((g) => g.headers['warmbox-delivery'])), new Set([`whd_${id}`]));
      // Backoff with equal jitter: the n-th wait is at least half of BACKOFF_MS·3^(n-1).
      assert.ok(got[1]!.at - got[0]!.at >= BACKOFF_MS / 2, `first wait ${got[1]!.at - got[0]!.at} ms`);
      assert.ok(got[2]!.at - got[1]!.at >= (BACKOFF_MS * 3) / 2, `second wait ${got[2]!.at - got[1]!.at} ms`);
      const delivery = await waitForDeliveryState(allowing, id, 'delivered');
      assert.deepEqual(delivery.attempts.map((a: any) => [a.attempt, a.statusCode, a.error]), [
        [1, 500, 'the receiver answered 500'],
        [2, 500, 'the receiver answered 500'],
        [3, 200, null],
      ]);
      const at = delivery.attempts.map((a: any) => Date.parse(a.at));
      assert.ok(at[0] < at[1] && at[1] < at[2]);
    } finally {
      await receiver.close();
    }
  });

  it('is dead after the last attempt, and stays visible', async () => {
    const receiver = await startReceiver(answer(500));
    try {
      const id = await submit(allowing, { image: 'busybox', cmd: ['true'], webhook: { url: receiver.url } });
      const delivery = await waitForDeliveryState(allowing, id, 'dead');
      assert.deepEqual(delivery.attempts.map((a: any) => a.statusCode), [500, 500, 500]);
      await new Promise((r) => setTimeout(r, 3 * BACKOFF_MS));
      assert.equal(receiver.received.length, 3, 'no attempt after the last');
    } finally {
      await receiver.close();
    }
  });

  it('delivers the result of a job cancelled while queued', async () => {
    const receiver = await startReceiver(answer(200));
    const busy = await submit(allowing, { image: 'busybox', cmd: ['sleep', '30'] });
    try {
      await eventually(async () => (await api(allowing, `/v1/jobs/${busy}`)).status === 'running', 'the first job runs');
      const id = await submit(allowing, { image: 'busybox', cmd: ['echo', 'never'], webhook: { url: receiver.url } });
      const res = await fetch(`${allowing.url}/v1/jobs/${id}/cancel`, { method: 'POST' });
      assert.equal(res.status, 200);
      const [got] = await receiver.waitFor(1);
      assert.equal(JSON.parse(got!.body).job.result.verdict, 'cancelled');
      await waitForDeliveryState(allowing, id, 'delivered');
    } finally {
      await fetch(`${allowing.url}/v1/jobs/${busy}/cancel`, { method: 'POST' });
      await receiver.close();
    }
  });

  it('does not follow a redirect: a 3xx is a failed attempt, the target never reached', async () => {
    const target = await startReceiver(answer(200));
    const redirecting = await startReceiver(answer(307, { location: target.url }));
    try {
      const id = await submit(allowing, { image: 'busybox', cmd: ['true'], webhook: { url: redirecting.url } });
      const delivery = await waitForDeliveryState(allowing, id, 'dead');
      assert.deepEqual(delivery.attempts.map((a: any) => a.statusCode), [307, 307, 307]);
      assert.match(delivery.attempts[0].error, /redirects are not followed/);
      assert.equal(target.connections, 0);
    } finally {
      await Promise.all([target.close(), redirecting.close()]);
    }
  });

  it('a receiver that never answers does not slow jobs; its attempts time out and are recorded', async () => {
    const silent = await startReceiver(() => undefined);
    try {
      // More deliveries than the webhook worker's concurrency (2): every slot hangs on the receiver.
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push(await submit(allowing, { image: 'busybox', cmd: ['echo', String(i)], webhook: { url: silent.url } }, true));
      await silent.waitFor(2);
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${allowing.url}/v1/jobs?wait=true`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ image: 'busybox', cmd: ['echo', 'still running jobs'] }),
        });
        assert.equal(res.status, 200, 'a job finishes while the deliveries hang');
        assert.equal(((await res.json()) as any).result.stdout, 'still running jobs\n');
      }
      const delivery = await waitForDeliveryState(allowing, ids[0]!, 'dead');
      assert.equal(delivery.attempts.length, 3);
      for (const a of delivery.attempts) {
        assert.equal(a.statusCode, null);
        assert.equal(a.error, `timed out after ${TIMEOUT_MS} ms without a response`);
        assert.ok(a.latencyMs >= TIMEOUT_MS);
      }
    } finally {
      await silent.close();
    }
  });

  it('lists no delivery for a job without a webhook, and 404 for an unknown job', async () => {
    const id = await submit(allowing, { image: 'busybox', cmd: ['true'] }, true);
    assert.deepEqual(await api(allowing, `/v1/jobs/${id}/deliveries`), { deliveries: [] });
    const res = await fetch(`${allowing.url}/v1/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV/deliveries`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as any).error.code, 'job_not_found');
  });
});

describe('webhooks: refused targets (SSRF)', () => {
  let receiver: WebhookReceiver;
  before(async () => {
    receiver = await startReceiver(answer(200));
  });
  after(async () => {
    await receiver?.close();
  });

  async function refusedAtSubmission(server: TestServer, url: string, cls: string): Promise<void> {
    const res = await fetch(`${server.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'busybox', cmd: ['true'], webhook: { url } }),
    });
    const body = (await res.json()) as any;
    assert.equal(res.status, 422, url);
    assert.equal(body.error.code, 'webhook_target_refused', url);
    assert.equal(body.error.field, 'webhook.url');
    assert.match(body.error.message, new RegExp(`is ${cls}: webhooks to it are refused unless WARMBOX_WEBHOOK_ALLOW allows it`), url);
  }

  it('without the allowance, a receiver on loopback is refused at submission, however the address is spelled', async () => {
    const port = receiver.port;
    for (const host of ['127.0.0.1', '127.1', '2130706433', '[::1]', '[::ffff:127.0.0.1]', 'localhost', 'LOCALHOST.', 'api.localhost']) {
      await refusedAtSubmission(strict, `http://${host}:${port}/hook`, 'loopback');
    }
    assert.equal(receiver.connections, 0);
  });

  it('with the allowance for loopback only, the other ranges stay refused', async () => {
    const cases: Array<[string, string]> = [
      ['169.254.169.254', 'link-local'],
      ['[::ffff:169.254.169.254]', 'link-local'],
      ['[fe80::1]', 'link-local'],
      ['10.0.0.1', 'private'],
      ['192.168.1.1', 'private'],
      ['[fd00::1]', 'private'],
      ['100.64.0.1', 'cgnat'],
      ['224.0.0.1', 'multicast'],
      ['0.0.0.0', 'unspecified'],
      ['[::]', 'unspecified'],
    ];
    for (const [host, cls] of cases) await refusedAtSubmission(allowing, `http://${host}/hook`, cls);
  });

  it('a name that resolves to loopback is refused when the delivery connects', async (t) => {
    // This host's own name resolves to loopback on most machines (/etc/hosts); elsewhere there is
    // no such name to use without a resolver of the test's (test/worker/webhook-sender.test.ts covers localhost).
    const name = hostname();
    const addresses = await lookup(name, { all: true }).catch(() => []);
    if (addresses.length === 0 || !addresses.every((a) => classifyAddress(a.address) === 'loopback')) {
      t.skip(`${name} does not resolve to loopback only here`);
      return;
    }
    const id = await submit(strict, { image: 'busybox', cmd: ['true'], webhook: { url: `http://${name}:${receiver.port}/hook` } });
    const delivery = await waitForDeliveryState(strict, id, 'dead');
    assert.equal(delivery.attempts.length, 1, 'dead at once: a refused target is not retried');
    assert.equal(delivery.attempts[0].statusCode, null);
    assert.match(delivery.attempts[0].error, /^(127\.\d+\.\d+\.\d+|::1) is loopback: webhooks to it are refused/);
    assert.equal(receiver.connections, 0, 'never connected');
  });

  it('the server generated its signing secret in the data directory, readable by its owner only', () => {
    const mode = statSync(join(strict.dataDir, 'webhook-secret')).mode & 0o777;
    assert.equal(mode, 0o600);
  });
});
