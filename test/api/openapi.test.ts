/**
 * The OpenAPI document describes what the routes do: every operation has a stable operationId that
 * client generators name their methods after, and declares every status it can answer, those of the
 * shared parts (body limit, JSON parsing, validation, the error handler) included. The routes' real
 * error answers, provoked one by one, are checked against it.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createApp } from '../../api/app.js';
import { REQUEST_BOUNDS } from '../../api/request-bounds.js';
import { upsertImage } from '../../db/images.js';
import { ImageQueue } from '../../queue/image-queue.js';
import { BlobStore } from '../../blobs/blob-store.js';
import { BUSYBOX, finish, postJob, startApiHarness, type ApiHarness } from './harness.js';

interface Operation {
  operationId?: string;
  parameters?: { in: string; name: string }[];
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
}
type Document = { paths: Record<string, Record<string, Operation>> };

let h: ApiHarness;
let images: ImageQueue;
let uploadDir: string;
/** The app with image operations (a queue without workers: they time out, 503). */
let app: ReturnType<typeof createApp>;
/** Apps whose Redis cannot be reached. */
let deadRedis: Redis;
let withoutRedis: ReturnType<typeof createApp>;
let doc: Document;

const IMPORT_MAX_BYTES = 1024;
const BLOB_MAX_BYTES = 1024;
const WORKER_TOKEN = 'w'.repeat(40);
let blobStore: BlobStore;

before(async () => {
  h = await startApiHarness();
  uploadDir = mkdtempSync(join(tmpdir(), 'warmbox-openapi-test-'));
  images = await ImageQueue.start({ redis: h.redis, pullTimeoutMs: 300, importMaxBytes: IMPORT_MAX_BYTES });
  blobStore = new BlobStore(join(uploadDir, 'blobs'));
  app = createApp({ ...h.deps, images, blobs: { store: blobStore, maxBytes: BLOB_MAX_BYTES }, internalBlobs: { store: blobStore, maxBytes: BLOB_MAX_BYTES, workerToken: WORKER_TOKEN } });
  deadRedis = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  withoutRedis = createApp({ ...h.deps, redis: deadRedis });
  await upsertImage(h.handle.db, { reference: 'docker.io/library/unused:1', digest: 'sha256:' + 'c'.repeat(64), config: {}, sizeBytes: 1, createdAt: 1 });
  doc = (await (await app.request('/openapi.json')).json()) as Document;
});
after(async () => {
  await images.close();
  deadRedis.disconnect();
  rmSync(uploadDir, { recursive: true, force: true });
  await h.close();
});

function operations(): { key: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })));
}

function declared(key: string): string[] {
  const [method, path] = key.split(' ') as [string, string];
  const op = doc.paths[path]?.[method.toLowerCase()];
  assert.ok(op, `${key} is in the document`);
  return Object.keys(op.responses);
}

describe('the OpenAPI document', () => {
  it('gives every operation a stable, unique camelCase operationId', async () => {
    const ids = Object.fromEntries(operations().map(({ key, op }) => [key, op.operationId]));
    assert.deepEqual(ids, {
      'GET /healthz': 'getHealth',
      'GET /readyz': 'getReadiness',
      'POST /v1/jobs': 'createJob',
      'GET /v1/jobs': 'listJobs',
      'POST /v1/jobs/batch': 'createJobBatch',
      'GET /v1/jobs/{id}': 'getJob',
      'POST /v1/jobs/{id}/cancel': 'cancelJob',
      'GET /v1/jobs/{id}/events': 'streamJobEvents',
      'GET /v1/jobs/{id}/deliveries': 'listJobDeliveries',
      'GET /v1/queue': 'getQueueCounts',
      'GET /v1/system/df': 'getSystemDiskUsage',
      'GET /v1/system/status': 'getSystemStatus',
      'GET /v1/pools': 'listPools',
      'PUT /v1/pools/{image}': 'setPoolBounds',
      'GET /v1/images': 'listImages',
      'GET /v1/images/{reference}': 'getImage',
      'DELETE /v1/images/{reference}': 'removeImage',
      'POST /v1/images/pull': 'pullImage',
      'POST /v1/images/import': 'importImages',
      'POST /v1/images/build': 'buildImage',
      'GET /v1/images/operations/{id}': 'getImageOperation',
      'POST /v1/triggers': 'createTrigger',
      'GET /v1/triggers': 'listTriggers',
      'GET /v1/triggers/{id}': 'getTrigger',
      'PATCH /v1/triggers/{id}': 'updateTrigger',
      'DELETE /v1/triggers/{id}': 'deleteTrigger',
      'POST /v1/hooks/{trigger}': 'deliverHook',
      'POST /v1/keys': 'createKey',
      'GET /v1/keys': 'listKeys',
      'DELETE /v1/keys/{id}': 'revokeKey',
      'POST /v1/tenants': 'createTenant',
      'GET /v1/tenants': 'listTenants',
      'DELETE /v1/tenants/{id}': 'deleteTenant',
      'GET /v1/tenants/{id}/policy': 'getTenantPolicy',
      'PUT /v1/tenants/{id}/policy': 'setTenantPolicy',
      'POST /v1/blobs': 'uploadBlob',
      'PUT /v1/blobs/{digest}': 'putBlob',
      'GET /v1/blobs/{digest}': 'getBlob',
      'DELETE /v1/blobs/{digest}': 'deleteBlob',
      'POST /v1/judge': 'createJudgeRun',
      'GET /v1/judge/{id}': 'getJudgeRun',
      'GET /v1/judge/{id}/events': 'streamJudgeRunEvents',
      'GET /v1/judge/{id}/deliveries': 'listJudgeRunDeliveries',
      'GET /v1/languages': 'listLanguages',
      'GET /internal/v1/blobs/{digest}': 'fetchInternalBlob',
      'PUT /internal/v1/blobs/{digest}': 'storeInternalBlob',
    });
    const values = Object.values(ids);
    assert.equal(new Set(values).size, values.length, 'operationIds are unique');
    for (const id of values) assert.match(id ?? '', /^[a-z][a-zA-Z0-9]*$/, 'camelCase');
  });

  it("declares on every operation the shared parts' statuses: 500, and 400/413/415 where a JSON body or a parameter is validated", async () => {
    for (const { key, op } of operations()) {
      const statuses = Object.keys(op.responses);
      assert.ok(statuses.includes('500'), `${key} declares 500`);
      if (op.requestBody?.content['application/json']) {
        for (const status of ['400', '413', '415']) assert.ok(statuses.includes(status), `${key} takes a JSON body: declares ${status}`);
      }
      if (op.parameters?.some((p) => p.in === 'query' || p.in === 'header')) assert.ok(statuses.includes('400'), `${key} validates parameters: declares 400`);
    }
  });

  it('describes every error answer with the one Error schema (the readiness check answers its own)', async () => {
    for (const { key, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400 || (key === 'GET /readyz' && status === '503')) continue;
        assert.equal(response.content?.['application/json']?.schema?.$ref, '#/components/schemas/Error', `${key} ${status}`);
      }
    }
  });
});

const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const put = (body: unknown, type = 'application/json'): RequestInit => ({ method: 'PUT', headers: { 'content-type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const text: RequestInit = { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' };
const big = (init: RequestInit): RequestInit => ({ ...init, body: JSON.stringify({ padding: 'x'.repeat(REQUEST_BOUNDS.bodyBytes) }) });
const longReference = 'a'.repeat(1025);

/** The operation, a request to it, the status it answers, and the app asked (default: the one with image operations). */
type Case = [operation: string, url: string, init: RequestInit, status: number, app?: 'images' | 'plain' | 'no-redis'];

describe("the routes' error answers are declared in the document", () => {
  const cases: Case[] = [
    ['POST /v1/jobs', '/v1/jobs', json('{'), 400],
    ['POST /v1/jobs', '/v1/jobs', text, 415],
    ['POST /v1/jobs', '/v1/jobs', big(json({})), 413],
    ['POST /v1/jobs', '/v1/jobs?wait=maybe', json({ image: 'busybox' }), 400],
    ['POST /v1/jobs', '/v1/jobs?timeout=99999999', json({ image: 'busybox' }), 422],
    ['POST /v1/jobs', '/v1/jobs', json({ image: 'busybox', limits: { memoryBytes: 2 ** 52 } }), 422],
    ['POST /v1/jobs', '/v1/jobs', json({ image: 'alpine:3' }), 404, 'plain'],
    ['POST /v1/jobs', '/v1/jobs', json({ image: 'alpine:3' }), 503], // the pull on first use outlasts its timeout
    ['GET /v1/jobs/{id}', '/v1/jobs/nosuchjob', {}, 404],
    ['GET /v1/jobs/{id}/deliveries', '/v1/jobs/nosuchjob/deliveries', {}, 404],
    ['POST /v1/jobs', '/v1/jobs', json({ image: 'busybox', webhook: { url: 'http://169.254.169.254/latest' } }), 422],
    ['POST /v1/jobs/{id}/cancel', '/v1/jobs/nosuchjob/cancel', { method: 'POST' }, 404],
    ['GET /v1/jobs/{id}/events', '/v1/jobs/nosuchjob/events', {}, 404],
    ['GET /v1/jobs/{id}/events', '/v1/jobs/nosuchjob/events', { headers: { 'last-event-id': '99999999999999999999-0' } }, 400],
    ['GET /readyz', '/readyz', {}, 503, 'no-redis'],
    ['GET /v1/system/df', '/v1/system/df', {}, 503, 'no-redis'],
    ['GET /v1/queue', '/v1/queue', {}, 503, 'no-redis'],
    ['GET /v1/pools', '/v1/pools', {}, 503, 'no-redis'],
    ['PUT /v1/pools/{image}', '/v1/pools/busybox', put('{'), 400],
    ['PUT /v1/pools/{image}', '/v1/pools/busybox', put('min=1', 'text/plain'), 415],
    ['PUT /v1/pools/{image}', '/v1/pools/busybox', big(put({})), 413],
    ['PUT /v1/pools/{image}', '/v1/pools/busybox', put({ min: 2, max: 1 }), 422],
    ['PUT /v1/pools/{image}', '/v1/pools/alpine', put({ min: 0, max: 1 }), 404],
    ['PUT /v1/pools/{image}', '/v1/pools/busybox', put({ min: 0, max: 1 }), 503, 'no-redis'],
    ['GET /v1/images/{reference}', '/v1/images/alpine', {}, 404],
    ['GET /v1/images/{reference}', '/v1/images/Not%20A%20Reference', {}, 400],
    ['DELETE /v1/images/{reference}', '/v1/images/alpine', { method: 'DELETE' }, 404],
    ['DELETE /v1/images/{reference}', '/v1/images/Not%20A%20Reference', { method: 'DELETE' }, 400],
    ['DELETE /v1/images/{reference}', '/v1/images/busybox?force=maybe', { method: 'DELETE' }, 400],
    ['DELETE /v1/images/{reference}', '/v1/images/unused:1', { method: 'DELETE' }, 503], // no worker removes it in time
    ['POST /v1/images/pull', '/v1/images/pull', json('{'), 400],
    ['POST /v1/images/pull', '/v1/images/pull', text, 415],
    ['POST /v1/images/pull', '/v1/images/pull', big(json({})), 413],
    ['POST /v1/images/pull', '/v1/images/pull?wait=maybe', json({ reference: 'busybox' }), 400],
    ['POST /v1/images/pull', '/v1/images/pull', json({ reference: longReference }), 422],
    ['POST /v1/images/pull', '/v1/images/pull', json({ reference: 'Not A Reference' }), 400],
    ['POST /v1/images/pull', '/v1/images/pull', json({ reference: 'alpine:3' }), 503],
    ['POST /v1/images/build', '/v1/images/build', json({ name: 'cobol' }), 400],
    ['POST /v1/images/build', '/v1/images/build', text, 415],
    ['POST /v1/images/build', '/v1/images/build', big(json({})), 413],
    ['POST /v1/images/build', '/v1/images/build', json({ name: 'python', reference: longReference }), 422],
    ['POST /v1/images/build', '/v1/images/build', json({ name: 'python' }), 503],
    ['POST /v1/images/import', '/v1/images/import', text, 415],
    ['POST /v1/images/import', '/v1/images/import', { method: 'POST', headers: { 'content-type': 'application/x-tar' }, body: 'x'.repeat(IMPORT_MAX_BYTES + 1) }, 413],
    ['POST /v1/images/import', '/v1/images/import', { method: 'POST', headers: { 'content-type': 'application/x-tar' }, body: '' }, 400],
    ['POST /v1/images/import', `/v1/images/import?reference=${longReference}`, { method: 'POST', headers: { 'content-type': 'application/x-tar' }, body: 'x' }, 422],
    ['POST /v1/images/import', '/v1/images/import', { method: 'POST', headers: { 'content-type': 'application/x-tar' }, body: 'x' }, 503],
    ['GET /v1/images/operations/{id}', '/v1/images/operations/nosuchop', {}, 404],
    ['GET /v1/images/operations/{id}', `/v1/images/operations/${'a'.repeat(65)}`, {}, 422],
    ['POST /v1/triggers', '/v1/triggers', json('{'), 400],
    ['POST /v1/triggers', '/v1/triggers', json({ job: { image: 'busybox', stdin: 'x' } }), 400],
    ['POST /v1/triggers', '/v1/triggers', text, 415],
    ['POST /v1/triggers', '/v1/triggers', big(json({})), 413],
    ['POST /v1/triggers', '/v1/triggers', json({ job: { image: 'busybox' }, maxBodyBytes: 2 ** 40 }), 422],
    ['POST /v1/triggers', '/v1/triggers', json({ job: { image: 'alpine:3' } }), 404, 'plain'],
    ['POST /v1/triggers', '/v1/triggers', json({ job: { image: 'alpine:3' } }), 503], // the pull outlasts its timeout
    ['GET /v1/triggers/{id}', '/v1/triggers/nosuchtrigger', {}, 404],
    ['PATCH /v1/triggers/{id}', '/v1/triggers/nosuchtrigger', { ...json({ enabled: false }), method: 'PATCH' }, 404],
    ['PATCH /v1/triggers/{id}', '/v1/triggers/nosuchtrigger', { ...json({ enabled: 'no' }), method: 'PATCH' }, 400],
    ['PATCH /v1/triggers/{id}', '/v1/triggers/nosuchtrigger', { ...text, method: 'PATCH' }, 415],
    ['DELETE /v1/triggers/{id}', '/v1/triggers/nosuchtrigger', { method: 'DELETE' }, 404],
    ['POST /v1/hooks/{trigger}', '/v1/hooks/nosuchtrigger', text, 404],
    ['POST /v1/blobs', '/v1/blobs', { method: 'POST', body: 'x' }, 201],
    ['POST /v1/blobs', '/v1/blobs', { method: 'POST', body: 'x'.repeat(BLOB_MAX_BYTES + 1) }, 413],
    ['PUT /v1/blobs/{digest}', `/v1/blobs/sha256:${'0'.repeat(64)}`, { method: 'PUT', body: 'x' }, 422],
    ['PUT /v1/blobs/{digest}', '/v1/blobs/sha256:nothex', { method: 'PUT', body: 'x' }, 400],
    ['PUT /v1/blobs/{digest}', '/v1/blobs/sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881', { method: 'PUT', body: 'x' }, 200],
    ['PUT /v1/blobs/{digest}', '/v1/blobs/sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881', { method: 'PUT', body: 'x' }, 200],
    ['PUT /v1/blobs/{digest}', `/v1/blobs/sha256:${'0'.repeat(64)}`, { method: 'PUT', body: 'x'.repeat(BLOB_MAX_BYTES + 1) }, 413],
    ['GET /v1/blobs/{digest}', `/v1/blobs/sha256:${'0'.repeat(64)}`, {}, 404],
    ['GET /v1/blobs/{digest}', '/v1/blobs/sha256:nothex', {}, 400],
    ['GET /v1/blobs/{digest}', '/v1/blobs/sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881', {}, 200],
    ['DELETE /v1/blobs/{digest}', `/v1/blobs/sha256:${'0'.repeat(64)}`, { method: 'DELETE' }, 404],
    ['POST /v1/judge', '/v1/judge', json('{'), 400],
    ['POST /v1/judge', '/v1/judge', json({ tests: [{}] }), 400],
    ['POST /v1/judge', '/v1/judge', text, 415],
    ['POST /v1/judge', '/v1/judge', big(json({})), 413],
    ['POST /v1/judge', '/v1/judge', json({ language: 'cobol', source: '', tests: [{}] }), 422],
    ['POST /v1/judge', '/v1/judge', json({ image: 'busybox', run: ['cat'], tests: Array.from({ length: 1001 }, () => ({})) }), 422],
    ['POST /v1/judge', '/v1/judge', json({ image: 'busybox', run: ['cat'], tests: [{ stdin: { blob: `sha256:${'0'.repeat(64)}` } }] }), 404],
    ['POST /v1/judge', '/v1/judge', json({ image: 'alpine:3', run: ['cat'], tests: [{}] }), 404, 'plain'],
    ['POST /v1/judge', '/v1/judge', json({ image: 'alpine:3', run: ['cat'], tests: [{}] }), 503], // the pull outlasts its timeout
    ['POST /v1/judge', '/v1/judge', json({ image: 'busybox', run: ['cat'], tests: [{}], webhook: { url: 'http://127.0.0.1:9/hook' } }), 422],
    ['GET /v1/judge/{id}', '/v1/judge/nosuchrun', {}, 404],
    ['GET /v1/judge/{id}/events', '/v1/judge/nosuchrun/events', {}, 404],
    ['GET /v1/judge/{id}/deliveries', '/v1/judge/nosuchrun/deliveries', {}, 404],
    ['GET /internal/v1/blobs/{digest}', `/internal/v1/blobs/sha256:${'0'.repeat(64)}`, {}, 401],
    ['GET /internal/v1/blobs/{digest}', `/internal/v1/blobs/sha256:${'0'.repeat(64)}`, { headers: { authorization: `Bearer ${WORKER_TOKEN}` } }, 404],
    ['GET /internal/v1/blobs/{digest}', '/internal/v1/blobs/sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881', { headers: { authorization: `Bearer ${WORKER_TOKEN}` } }, 200],
    ['GET /internal/v1/blobs/{digest}', '/internal/v1/blobs/sha256:nothex', { headers: { authorization: `Bearer ${WORKER_TOKEN}` } }, 400],
    ['PUT /internal/v1/blobs/{digest}', `/internal/v1/blobs/sha256:${'0'.repeat(64)}`, { method: 'PUT', body: 'x' }, 401],
    ['PUT /internal/v1/blobs/{digest}', `/internal/v1/blobs/sha256:${'0'.repeat(64)}`, { method: 'PUT', body: 'x', headers: { authorization: `Bearer ${WORKER_TOKEN}` } }, 422],
    ['PUT /internal/v1/blobs/{digest}', `/internal/v1/blobs/sha256:${'0'.repeat(64)}`, { method: 'PUT', body: 'x'.repeat(BLOB_MAX_BYTES + 1), headers: { authorization: `Bearer ${WORKER_TOKEN}` } }, 413],
    ['PUT /internal/v1/blobs/{digest}', '/internal/v1/blobs/sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881', { method: 'PUT', body: 'x', headers: { authorization: `Bearer ${WORKER_TOKEN}` } }, 200],
  ];

  for (const [operation, url, init, status, which = 'images'] of cases) {
    it(`${operation}: ${status} (${init.method ?? 'GET'} ${url.slice(0, 60)})`, async () => {
      const target = which === 'images' ? app : which === 'plain' ? h.app : withoutRedis;
      const res = await target.request(url, init);
      const body = await res.text();
      assert.equal(res.status, status, body);
      assert.ok(declared(operation).includes(String(status)), `${operation} answered ${status} (${body}), which its document does not declare: ${declared(operation).join(', ')}`);
    });
  }

  it('POST /v1/jobs/{id}/cancel: 409 for a finished job', async () => {
    const { id } = (await (await postJob(h.app, { image: 'busybox' })).json()) as { id: string };
    await finish(h, id);
    const res = await h.app.request(`/v1/jobs/${id}/cancel`, { method: 'POST' });
    assert.equal(res.status, 409);
    assert.ok(declared('POST /v1/jobs/{id}/cancel').includes('409'));
  });

  it('POST /v1/hooks/{trigger}: 401 unsigned, 413 above the limit, 400 for a bad delivery id', async () => {
    const made = await h.app.request('/v1/triggers', json({ job: { image: 'busybox' }, maxBodyBytes: 10 }));
    assert.equal(made.status, 201);
    assert.ok(declared('POST /v1/triggers').includes('201'));
    const { hookPath, secret } = (await made.json()) as { hookPath: string; secret: string };
    const signed = (body: string, headers: Record<string, string> = {}): RequestInit => ({
      method: 'POST',
      headers: { 'x-hub-signature-256': 'sha256=' + createHmac('sha256', secret).update(body).digest('hex'), ...headers },
      body,
    });
    const cases: [RequestInit, number][] = [
      [{ method: 'POST', body: 'x' }, 401],
      [signed('x'.repeat(11)), 413],
      [signed('x', { 'x-delivery-id': 'a'.repeat(256) }), 400],
    ];
    for (const [init, status] of cases) {
      const res = await h.app.request(hookPath, init);
      assert.equal(res.status, status, await res.text());
      assert.ok(declared('POST /v1/hooks/{trigger}').includes(String(status)), `${status} is declared`);
    }
  });

  it('DELETE /v1/images/{reference}: 409 while a job of the image is queued', async () => {
    await postJob(h.app, { image: BUSYBOX });
    const res = await app.request('/v1/images/busybox', { method: 'DELETE' });
    assert.equal(res.status, 409, await res.text());
    assert.ok(declared('DELETE /v1/images/{reference}').includes('409'));
  });
});
