/**
 * A result recorded by a process that died before it queued the webhook delivery (or while Redis
 * was down) is still delivered: the delivery was written with the result, and the sweep of the
 * next worker to start queues it. The "died" process is played by writing the db as finishJob
 * does (a `lost` verdict, as a reconcile sweep would record it) and queueing nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { withDefaults } from '../../contract/limits.js';
import { resultWithoutRun } from '../../contract/result-without-run.js';
import { openDatabase } from '../../db/client.js';
import { createJob, finishJob } from '../../db/jobs.js';
import { readmeJsVerify } from '../helpers/readme-webhook-recipes.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { answer, startReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';
import { api, waitForDeliveryState } from './webhooks-client.js';

const SECRET = 'sweep-secret-0123456789abcdef';
const JOB_ID = '01JD3Z8Q8V6W7X9Y0Z1A2B3C4D';

let redis: TestRedis | undefined;
let server: TestServer | undefined;
let receiver: WebhookReceiver | undefined;
after(async () => {
  await server?.stop();
  await redis?.stop();
  await receiver?.close();
});

describe('webhooks: a delivery outlives the process that recorded the result', () => {
  it('is queued by the sweep of the next start, and delivered', async () => {
    receiver = await startReceiver(answer(200));
    const dataDir = mkdtempSync(join(tmpdir(), 'warmbox-e2e-'));
    const db = await openDatabase(join(dataDir, 'warmbox.db'));
    const createdAt = Date.now();
    await createJob(db.db, {
      id: JOB_ID,
      image: 'docker.io/library/busybox:latest',
      request: { id: JOB_ID, image: 'docker.io/library/busybox:latest', stdinBase64: '', env: {}, files: [], limits: withDefaults(undefined), network: 'none', createdAt },
      labels: {},
      webhookUrl: receiver.url,
      createdAt,
    });
    assert.equal(await finishJob(db.db, JOB_ID, { ...resultWithoutRun('lost'), error: 'its worker died' }, createdAt + 1), true);
    db.close();

    redis = await startRedis();
    server = await startServer({ redisUrl: redis.url, dataDir, env: { WARMBOX_WEBHOOK_ALLOW: 'loopback', WARMBOX_WEBHOOK_SECRET: SECRET } });
    const [got] = await receiver.waitFor(1);
    const body = JSON.parse(got!.body);
    assert.equal(body.job.id, JOB_ID);
    assert.equal(body.job.result.verdict, 'lost');
    assert.deepEqual(body.job, await api(server, `/v1/jobs/${JOB_ID}`));
    const verify = await readmeJsVerify();
    assert.equal(verify(got!.body, String(got!.headers['warmbox-signature']), SECRET), true);
    const delivery = await waitForDeliveryState(server, JOB_ID, 'delivered');
    assert.equal(delivery.attempts.length, 1);
  });
});
