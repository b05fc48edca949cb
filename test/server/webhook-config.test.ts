/** Webhook configuration: defaults, bounds (above the maximum is an error, never clamped) and messages naming the variable. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../server/config.js';
import { WEBHOOK_BOUNDS } from '../../server/webhook-config.js';

describe('webhook configuration', () => {
  it('has defaults', () => {
    const { webhooks } = loadConfig({});
    assert.equal(webhooks.secret, undefined);
    assert.equal(webhooks.attempts, WEBHOOK_BOUNDS.WARMBOX_WEBHOOK_ATTEMPTS.default);
    assert.deepEqual(webhooks.backoff, { baseMs: 5000, maxMs: 3_600_000 });
    assert.equal(webhooks.timeoutMs, 10_000);
    assert.equal(webhooks.connectTimeoutMs, 5000);
    assert.equal(webhooks.concurrency, 16);
    assert.equal(webhooks.policy.refusal('127.0.0.1')?.class, 'loopback');
  });

  it('reads every variable', () => {
    const { webhooks } = loadConfig({
      WARMBOX_WEBHOOK_SECRET: 'a-long-enough-secret',
      WARMBOX_WEBHOOK_ALLOW: 'loopback,10.1.0.0/16',
      WARMBOX_WEBHOOK_ATTEMPTS: '3',
      WARMBOX_WEBHOOK_BACKOFF_MS: '100',
      WARMBOX_WEBHOOK_BACKOFF_MAX_MS: '1000',
      WARMBOX_WEBHOOK_TIMEOUT_MS: '2000',
      WARMBOX_WEBHOOK_CONNECT_TIMEOUT_MS: '3000',
      WARMBOX_WEBHOOK_CONCURRENCY: '4',
    });
    assert.equal(webhooks.secret, 'a-long-enough-secret');
    assert.equal(webhooks.policy.refusal('127.0.0.1'), undefined);
    assert.equal(webhooks.policy.refusal('10.1.2.3'), undefined);
    assert.equal(webhooks.attempts, 3);
    assert.deepEqual(webhooks.backoff, { baseMs: 100, maxMs: 1000 });
    assert.equal(webhooks.connectTimeoutMs, 2000, 'never longer than the whole attempt');
    assert.equal(webhooks.concurrency, 4);
  });

  it('refuses values beyond their bounds, and says which', () => {
    const refused: Array<[Record<string, string>, RegExp]> = [
      [{ WARMBOX_WEBHOOK_ATTEMPTS: '26' }, /WARMBOX_WEBHOOK_ATTEMPTS="26": Too big: expected number to be <=25/],
      [{ WARMBOX_WEBHOOK_ATTEMPTS: '0' }, /WARMBOX_WEBHOOK_ATTEMPTS="0"/],
      [{ WARMBOX_WEBHOOK_TIMEOUT_MS: '60001' }, /WARMBOX_WEBHOOK_TIMEOUT_MS="60001"/],
      [{ WARMBOX_WEBHOOK_CONCURRENCY: 'many' }, /WARMBOX_WEBHOOK_CONCURRENCY="many"/],
      [{ WARMBOX_WEBHOOK_SECRET: 'short' }, /WARMBOX_WEBHOOK_SECRET="short": must be at least 16 characters/],
      [{ WARMBOX_WEBHOOK_ALLOW: 'loopback,anything' }, /WARMBOX_WEBHOOK_ALLOW="loopback,anything": "anything" is neither one of loopback, private, link-local, cgnat nor a CIDR/],
      [{ WARMBOX_WEBHOOK_BACKOFF_MS: '5000', WARMBOX_WEBHOOK_BACKOFF_MAX_MS: '1000' }, /WARMBOX_WEBHOOK_BACKOFF_MAX_MS=1000 is below WARMBOX_WEBHOOK_BACKOFF_MS=5000/],
    ];
    for (const [env, message] of refused) assert.throws(() => loadConfig(env), (err: Error) => err instanceof ConfigError && message.test(err.message), JSON.stringify(env));
  });
});
