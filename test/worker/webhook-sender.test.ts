/**
 * The webhook sender against real receivers on 127.0.0.1: refused targets are never connected to
 * (names are checked after resolution), redirects are not followed, and attempts time out. Every
 * address here is loopback; refusals of other ranges are checked without contacting them
 * (test/contract/webhook-target-policy.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebhookTargetPolicy } from '../../contract/webhook-target-policy.js';
import { WebhookSender } from '../../worker/webhook-sender.js';
import { answer, startReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const TIMEOUTS = { connectTimeoutMs: 5000, timeoutMs: 5000 };
const strict = new WebhookSender({ policy: new WebhookTargetPolicy(), ...TIMEOUTS });
const loopbackAllowed = new WebhookSender({ policy: WebhookTargetPolicy.parse('loopback'), ...TIMEOUTS });

let ok: WebhookReceiver;
before(async () => {
  ok = await startReceiver(answer(204));
});
after(async () => {
  await ok?.close();
});

const post = (sender: WebhookSender, url: string) => sender.post(url, '{"x":1}', { 'content-type': 'application/json', 'x-test': 'yes' });

describe('WebhookSender', () => {
  it('refuses a name that resolves to loopback at connect time, and never connects', async () => {
    const before = ok.connections;
    const sent = await post(strict, `http://localhost:${ok.port}/hook`);
    assert.equal(sent.refused, true);
    assert.equal(sent.statusCode, null);
    assert.match(sent.error ?? '', /127\.0\.0\.1 is loopback|::1 is loopback/);
    assert.equal(ok.connections, before, 'the receiver saw no connection');
  });

  it('refuses literal loopback addresses, IPv4-mapped ones included, before connecting', async () => {
    const before = ok.connections;
    for (const host of ['127.0.0.1', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '127.1']) {
      const sent = await post(strict, `http://${host}:${ok.port}/hook`);
      assert.equal(sent.refused, true, host);
      assert.match(sent.error ?? '', /is loopback: webhooks to it are refused unless WARMBOX_WEBHOOK_ALLOW allows it/, host);
    }
    assert.equal(ok.connections, before);
  });

  it('delivers to loopback when the allowance says so: body and headers as given', async () => {
    const n = ok.received.length;
    const sent = await post(loopbackAllowed, `http://localhost:${ok.port}/hook`);
    assert.deepEqual({ ...sent, latencyMs: 0 }, { statusCode: 204, error: null, refused: false, latencyMs: 0 });
    const [got] = ok.received.slice(n);
    assert.equal(got?.body, '{"x":1}');
    assert.equal(got?.headers['x-test'], 'yes');
    assert.equal(got?.headers['content-length'], '7');
  });

  it('does not follow a redirect, even to an allowed target', async () => {
    const target = await startReceiver(answer(200));
    const redirecting = await startReceiver(answer(302, { location: target.url }));
    try {
      const sent = await post(loopbackAllowed, redirecting.url);
      assert.equal(sent.statusCode, 302);
      assert.match(sent.error ?? '', /redirect to http:\/\/127\.0\.0\.1:\d+\/hook\): redirects are not followed/);
      assert.equal(redirecting.received.length, 1);
      assert.equal(target.connections, 0, 'the redirect target was never contacted');
    } finally {
      await Promise.all([target.close(), redirecting.close()]);
    }
  });

  it('gives up on a receiver that never answers after its timeout', async () => {
    const silent = await startReceiver(() => undefined);
    const quick = new WebhookSender({ policy: WebhookTargetPolicy.parse('loopback'), connectTimeoutMs: 300, timeoutMs: 300 });
    try {
      const sent = await post(quick, silent.url);
      assert.equal(sent.statusCode, null);
      assert.equal(sent.error, 'timed out after 300 ms without a response');
      assert.equal(silent.received.length, 1, 'the request did arrive');
    } finally {
      await silent.close();
    }
  });

  it('reports a non-2xx answer and a refused connection', async () => {
    const failing = await startReceiver(answer(503));
    const sent = await post(loopbackAllowed, failing.url);
    await failing.close();
    assert.equal(sent.statusCode, 503);
    assert.equal(sent.error, 'the receiver answered 503');
    const closed = await post(loopbackAllowed, failing.url);
    assert.equal(closed.statusCode, null);
    assert.match(closed.error ?? '', /ECONNREFUSED/);
    assert.equal(closed.refused, false);
  });
});
