/** GET /v1/queue counts what waits for a worker and what a worker runs, across the shared queue. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'bullmq';
import { BULL_PREFIX, QUEUE_JOBS } from '../../queue/redis-keys.js';
import { postJob, startApiHarness, type ApiHarness } from './harness.js';

let h: ApiHarness;
before(async () => {
  h = await startApiHarness();
});
after(() => h.close());

/** The counts alone (oldestQueuedAgeMs is checked on its own: it grows with time). */
async function counts(): Promise<{ status: number; json: unknown }> {
  const res = await h.app.request('/v1/queue');
  const { oldestQueuedAgeMs: _age, ...json } = (await res.json()) as { oldestQueuedAgeMs: number | null };
  return { status: res.status, json };
}

async function oldestQueuedAgeMs(): Promise<number | null> {
  return ((await (await h.app.request('/v1/queue')).json()) as { oldestQueuedAgeMs: number | null }).oldestQueuedAgeMs;
}

describe('GET /v1/queue', () => {
  it('is empty before any job, counts jobs as queued until a worker takes one, then as running, then neither', async () => {
    assert.deepEqual(await counts(), { status: 200, json: { queued: 0, running: 0 } });
    assert.equal(await oldestQueuedAgeMs(), null, 'none waits');
    const before = Date.now();
    for (let i = 0; i < 3; i++) assert.equal((await postJob(h.app, { image: 'busybox' })).status, 202);
    assert.deepEqual((await counts()).json, { queued: 3, running: 0 });
    const age = await oldestQueuedAgeMs();
    assert.ok(age !== null && age >= 0 && age <= Date.now() - before, `the oldest has waited since it was posted: ${age}`);

    // A worker of the queue that holds the first job it takes until told to finish it.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let taken!: () => void;
    const tookOne = new Promise<void>((resolve) => (taken = resolve));
    const worker = new Worker(QUEUE_JOBS, async () => { taken(); await held; }, { connection: { host: h.server.host, port: h.server.port }, prefix: BULL_PREFIX, concurrency: 1, autorun: false });
    try {
      void worker.run();
      await tookOne;
      assert.deepEqual((await counts()).json, { queued: 2, running: 1 });
      release();
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
        if (JSON.stringify((await counts()).json) === JSON.stringify({ queued: 0, running: 0 })) break;
      }
      assert.deepEqual((await counts()).json, { queued: 0, running: 0 });
      assert.equal(await oldestQueuedAgeMs(), null);
    } finally {
      await worker.close();
    }
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await (await h.app.request('/openapi.json')).json()) as { paths: Record<string, { get?: unknown }> };
    assert.ok(doc.paths['/v1/queue']?.get);
  });
});
