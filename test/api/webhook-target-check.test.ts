/** POST /v1/jobs refuses webhook URLs with a literal refused address (or localhost) with a 422, unless allowed. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebhookTargetPolicy } from '../../contract/webhook-target-policy.js';
import { postJob, startApiHarness, type ApiHarness } from './harness.js';

let h: ApiHarness;
before(async () => {
  h = await startApiHarness();
});
after(async () => {
  await h?.close();
});

const withHook = (url: string) => ({ image: 'busybox', cmd: ['true'], webhook: { url } });

describe('webhook URL at submission', () => {
  it('refuses refused ranges however the address is written, naming the field and the range', async () => {
    const cases: Array<[string, string]> = [
      ['http://127.0.0.1/', '127.0.0.1 is loopback'],
      ['http://0x7f.1/', '127.0.0.1 is loopback'],
      ['http://[::ffff:127.0.0.1]:8080/', '::ffff:7f00:1 is loopback'],
      ['https://localhost/', 'localhost is loopback'],
      ['http://169.254.169.254/latest/meta-data/', '169.254.169.254 is link-local'],
      ['http://[::ffff:a9fe:a9fe]/', '::ffff:a9fe:a9fe is link-local'],
      ['http://10.0.0.8/', '10.0.0.8 is private'],
      ['http://[fd00::8]/', 'fd00::8 is private'],
      ['http://100.100.100.100/', '100.100.100.100 is cgnat'],
      ['http://[ff02::1]/', 'ff02::1 is multicast'],
    ];
    for (const [url, says] of cases) {
      const res = await postJob(h.app, withHook(url));
      const body = (await res.json()) as { error: { code: string; field: string; message: string } };
      assert.equal(res.status, 422, url);
      assert.equal(body.error.code, 'webhook_target_refused');
      assert.equal(body.error.field, 'webhook.url');
      assert.equal(body.error.message, `webhook.url: ${says}: webhooks to it are refused unless WARMBOX_WEBHOOK_ALLOW allows it`);
    }
  });

  it('accepts names (checked again at connect time) and public addresses', async () => {
    for (const url of ['https://hooks.example.com/x', 'http://93.184.215.14/x', 'http://[2606:4700::1111]/x']) {
      assert.equal((await postJob(h.app, withHook(url))).status, 202, url);
    }
  });

  it('accepts what WARMBOX_WEBHOOK_ALLOW allows', async () => {
    const app = h.appWith({ webhookTargets: WebhookTargetPolicy.parse('loopback,10.0.0.0/24') });
    for (const url of ['http://127.0.0.1:9/x', 'http://localhost/x', 'http://10.0.0.8/x']) assert.equal((await postJob(app, withHook(url))).status, 202, url);
    assert.equal((await postJob(app, withHook('http://10.0.1.8/x'))).status, 422);
  });
});
