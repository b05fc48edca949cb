import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { REQUEST_BOUNDS } from '../../api/request-bounds.js';
import { getJob, listJobs } from '../../db/jobs.js';
import { availableParallelism } from 'node:os';
import { DEFAULT_LIMITS, MAX_LIMITS, MIN_LIMITS } from '../../contract/limits.js';
import type { JobPayload } from '../../contract/job-payload.js';
import { BULL_PREFIX, QUEUE_JOBS } from '../../queue/redis-keys.js';
import { BUSYBOX, postJob, startApiHarness, type ApiHarness, type ErrorJson } from './harness.js';

let h: ApiHarness;
before(async () => {
  h = await startApiHarness();
});
after(async () => h.close());

async function expectError(res: Response, status: number, code: string, field?: string): Promise<ErrorJson['error']> {
  const body = (await res.json()) as ErrorJson;
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(body.error.code, code, JSON.stringify(body));
  assert.equal(typeof body.error.message, 'string');
  if (field !== undefined) assert.equal(body.error.field, field, JSON.stringify(body));
  assert.ok(!JSON.stringify(body).includes('    at '), 'no stack trace');
  return body.error;
}

describe('POST /v1/jobs accepts a valid request', () => {
  it('records the job, enqueues the payload with defaults filled, and answers 202', async () => {
    const res = await postJob(h.app, {
      image: 'busybox',
      cmd: ['sh', '-c', 'cat main.py'],
      stdin: { base64: Buffer.from([0, 1, 2]).toString('base64') },
      env: { GREETING: 'hi' },
      files: [
        { path: './src//main.py', content: 'print(1)' },
        { path: 'run.sh', content: Buffer.from('#!/bin/sh\n').toString('base64'), encoding: 'base64', mode: 0o755 },
      ],
      limits: { memoryBytes: 64 * 1024 * 1024 },
      webhook: { url: 'https://example.com/hook' },
      labels: { team: 'judge' },
    });
    assert.equal(res.status, 202);
    const job = (await res.json()) as { id: string; status: string; image: string; labels: Record<string, string>; result: null };
    assert.match(job.id, /^[0-9A-Z]{26}$/);
    assert.equal(res.headers.get('location'), `/v1/jobs/${job.id}`);
    assert.equal(job.status, 'queued');
    assert.equal(job.image, BUSYBOX);
    assert.deepEqual(job.labels, { team: 'judge' });
    assert.equal(job.result, null);

    const row = await getJob(h.handle.db, job.id);
    assert.equal(row?.webhookUrl, 'https://example.com/hook');
    const expected: JobPayload = {
      id: job.id,
      tenantId: 'local',
      image: BUSYBOX,
      cmd: ['sh', '-c', 'cat main.py'],
      stdinBase64: 'AAEC',
      env: { GREETING: 'hi' },
      files: [
        { path: 'src/main.py', contentBase64: Buffer.from('print(1)').toString('base64'), mode: 0o644 },
        { path: 'run.sh', contentBase64: Buffer.from('#!/bin/sh\n').toString('base64'), mode: 0o755 },
      ],
      limits: { ...DEFAULT_LIMITS, memoryBytes: 64 * 1024 * 1024 },
      network: 'none',
      // The payload keeps the fraction of a millisecond (the queue wait is about one); the row, whole ms.
      createdAt: row!.request.createdAt,
    };
    assert.equal(Math.floor(expected.createdAt), row!.createdAt);
    assert.deepEqual(row?.request, expected);

    const inspect = new Queue(QUEUE_JOBS, { connection: { host: h.server.host, port: h.server.port }, prefix: BULL_PREFIX });
    try {
      assert.deepEqual((await inspect.getJob(job.id))?.data, expected);
    } finally {
      await inspect.close();
    }
  });

  it('takes a minimal request: the image alone', async () => {
    const res = await postJob(h.app, { image: 'docker.io/library/busybox' });
    assert.equal(res.status, 202);
  });

  it('takes network bridge, and queues it with the job', async () => {
    const res = await postJob(h.app, { image: 'busybox', network: 'bridge' });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    assert.equal((await getJob(h.handle.db, id))?.request.network, 'bridge');
  });
});

describe('POST /v1/jobs rejects a malformed request with 400 naming the field', () => {
  const cases: [string, unknown, string][] = [
    ['image missing', {}, 'image'],
    ['a limit of the wrong type', { image: 'busybox', limits: { memoryBytes: '1G' } }, 'limits.memoryBytes'],
    ['a fractional limit', { image: 'busybox', limits: { wallTimeMs: 1.5 } }, 'limits.wallTimeMs'],
    ['an unknown limit', { image: 'busybox', limits: { memory: 1 } }, 'limits.memory'],
    ['an unknown field', { image: 'busybox', timeout: 5 }, 'timeout'],
    ['an empty cmd', { image: 'busybox', cmd: [] }, 'cmd'],
    ['cmd not strings', { image: 'busybox', cmd: ['echo', 1] }, 'cmd[1]'],
    ['an empty program', { image: 'busybox', cmd: [''] }, 'cmd[0]'],
    ['NUL in an argument', { image: 'busybox', cmd: ['echo', 'a\0b'] }, 'cmd[1]'],
    ['stdin of the wrong type', { image: 'busybox', stdin: 5 }, 'stdin'],
    ['stdin with bad base64', { image: 'busybox', stdin: { base64: '@@@' } }, 'stdin.base64'],
    ['an env name with =', { image: 'busybox', env: { 'A=B': 'x' } }, 'env["A=B"]'],
    ['an env name starting with a digit', { image: 'busybox', env: { '1X': 'x' } }, 'env["1X"]'],
    ['NUL in an env value', { image: 'busybox', env: { A: 'x\0' } }, 'env.A'],
    ['a network mode warmbox does not have', { image: 'busybox', network: 'host' }, 'network'],
    ['a webhook that is not http(s)', { image: 'busybox', webhook: { url: 'file:///etc/passwd' } }, 'webhook.url'],
    ['a label that is not a string', { image: 'busybox', labels: { a: 1 } }, 'labels.a'],
    ['a relative workdir', { image: 'busybox', workdir: 'tmp' }, 'workdir'],
    ['a workdir with ..', { image: 'busybox', workdir: '/tmp/../etc' }, 'workdir'],
    ['a workdir into /proc (runc CVE-2024-21626: /proc/self/fd/N)', { image: 'busybox', workdir: '/proc/self/fd/3' }, 'workdir'],
    ['a workdir into /dev', { image: 'busybox', workdir: '/dev' }, 'workdir'],
    ['an entrypoint that is not a list', { image: 'busybox', entrypoint: 'sh' }, 'entrypoint'],
    ['an invalid image reference', { image: 'Not A Reference!' }, 'image'],
    ['a file mode with setuid', { image: 'busybox', files: [{ path: 'a', content: '', mode: 0o4755 }] }, 'files[0].mode'],
    ['file content with bad base64', { image: 'busybox', files: [{ path: 'a', content: 'x', encoding: 'base64' }] }, 'files[0].content'],
    ['an unknown file encoding', { image: 'busybox', files: [{ path: 'a', content: 'x', encoding: 'hex' }] }, 'files[0].encoding'],
  ];
  for (const [what, body, field] of cases) {
    it(what, async () => {
      await expectError(await postJob(h.app, body), 400, 'invalid_request', field);
    });
  }

  const badPaths: [string, string][] = [
    ['a parent reference', '../escape'],
    ['a parent reference inside', 'a/../../b'],
    ['an absolute path', '/etc/passwd'],
    ['NUL', 'a\0b'],
    ['an empty path', ''],
    ['the working directory itself', '.'],
    ['a directory', 'dir/'],
    ['a component over 255 bytes', 'x'.repeat(256)],
  ];
  for (const [what, path] of badPaths) {
    it(`a file path with ${what}`, async () => {
      await expectError(await postJob(h.app, { image: 'busybox', files: [{ path, content: '' }] }), 400, 'invalid_request', 'files[0].path');
    });
  }

  it('the same file twice', async () => {
    const files = [{ path: 'a/b', content: '1' }, { path: './a//b', content: '2' }];
    await expectError(await postJob(h.app, { image: 'busybox', files }), 400, 'invalid_request', 'files[1].path');
  });

  it('malformed JSON is invalid_json', async () => {
    await expectError(await postJob(h.app, '{"image": "busybox",'), 400, 'invalid_json');
  });

  it('a body that is not JSON is 415', async () => {
    const res = await h.app.request('/v1/jobs', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'image=busybox' });
    await expectError(res, 415, 'unsupported_media_type');
  });

  it('lists every shape problem, the first one in the message', async () => {
    const error = await expectError(
      await postJob(h.app, { image: 5, limits: { pids: 'x' } }),
      400,
      'invalid_request',
      'image',
    );
    assert.match(error.message, /^image: /);
    assert.deepEqual(
      (error.issues as { field: string }[]).map((i) => i.field),
      ['image', 'limits.pids'],
    );
  });
});

describe('POST /v1/jobs rejects values beyond a server bound with 422', () => {
  it('a limit above its maximum, naming the limit and the maximum', async () => {
    const error = await expectError(
      await postJob(h.app, { image: 'busybox', limits: { memoryBytes: MAX_LIMITS.memoryBytes + 1 } }),
      422,
      'above_maximum',
      'limits.memoryBytes',
    );
    assert.equal(error.maximum, MAX_LIMITS.memoryBytes);
    assert.match(error.message, new RegExp(`limits\\.memoryBytes.*${MAX_LIMITS.memoryBytes}`));
  });

  it('a limit far above its maximum still names the server maximum', async () => {
    const error = await expectError(
      await postJob(h.app, { image: 'busybox', limits: { wallTimeMs: 1e20 } }),
      422,
      'above_maximum',
      'limits.wallTimeMs',
    );
    assert.equal(error.maximum, MAX_LIMITS.wallTimeMs);
  });

  it('a limit below its minimum', async () => {
    const error = await expectError(
      await postJob(h.app, { image: 'busybox', limits: { memoryBytes: 1 } }),
      422,
      'below_minimum',
      'limits.memoryBytes',
    );
    assert.equal(error.minimum, MIN_LIMITS.memoryBytes);
  });

  it('cpus above the host\'s cores, and below the smallest CPU quota, naming the bound', async () => {
    const above = await expectError(await postJob(h.app, { image: 'busybox', limits: { cpus: MAX_LIMITS.cpus + 0.5 } }), 422, 'above_maximum', 'limits.cpus');
    assert.equal(above.maximum, MAX_LIMITS.cpus);
    assert.ok(MAX_LIMITS.cpus <= availableParallelism(), 'never more than this host has');
    const below = await expectError(await postJob(h.app, { image: 'busybox', limits: { cpus: 0.001 } }), 422, 'below_minimum', 'limits.cpus');
    assert.equal(below.minimum, MIN_LIMITS.cpus);
    assert.equal((await postJob(h.app, { image: 'busybox', limits: { cpus: 0.5 } })).status, 202, 'a fraction of a core');
  });

  it('every limit at its maximum is accepted', async () => {
    const res = await postJob(h.app, { image: 'busybox', limits: { ...MAX_LIMITS } });
    assert.equal(res.status, 202);
  });

  it('too many files', async () => {
    const files = Array.from({ length: REQUEST_BOUNDS.files + 1 }, (_, i) => ({ path: `f${i}`, content: '' }));
    const error = await expectError(await postJob(h.app, { image: 'busybox', files }), 422, 'above_maximum', 'files');
    assert.equal(error.maximum, REQUEST_BOUNDS.files);
  });

  it('files larger than the maximum in all', async () => {
    const half = 'x'.repeat(REQUEST_BOUNDS.filesBytes / 2 + 1);
    const files = [{ path: 'a', content: half }, { path: 'b', content: half }];
    const error = await expectError(await postJob(h.app, { image: 'busybox', files }), 422, 'above_maximum', 'files');
    assert.equal(error.maximum, REQUEST_BOUNDS.filesBytes);
  });

  it('too many env variables', async () => {
    const env = Object.fromEntries(Array.from({ length: REQUEST_BOUNDS.envVars + 1 }, (_, i) => [`V${i}`, '']));
    await expectError(await postJob(h.app, { image: 'busybox', env }), 422, 'above_maximum', 'env');
  });

  it('a wait timeout above the server maximum', async () => {
    const error = await expectError(await postJob(h.app, { image: 'busybox' }, '?wait=true&timeout=99999999'), 422, 'above_maximum', 'timeout');
    assert.equal(error.in, 'query');
    assert.equal(error.maximum, h.deps.config.maxWaitMs);
  });

  // zod's own bound of an integer (2^53 - 1) trips too on these: the answer states the server's.
  for (const timeout of ['1e16', '99999999999999999999', String(Number.MAX_SAFE_INTEGER + 2)]) {
    it(`a wait timeout beyond the safe integers (${timeout}) states the server maximum`, async () => {
      const maxWaitMs = h.deps.config.maxWaitMs;
      const error = await expectError(await postJob(h.app, { image: 'busybox' }, `?wait=true&timeout=${timeout}`), 422, 'above_maximum', 'timeout');
      assert.equal(error.maximum, maxWaitMs);
      assert.equal(error.message, `timeout is above the maximum ${maxWaitMs}`);
    });
  }
});

describe('POST /v1/jobs: other refusals', () => {
  it('an image that is not in the store is 404 image_not_found', async () => {
    const error = await expectError(await postJob(h.app, { image: 'alpine:3' }), 404, 'image_not_found');
    assert.match(error.message, /image "alpine:3" not found/);
    assert.equal(error.image, 'docker.io/library/alpine:3');
  });

  it('a body above the size limit is 413, with or without Content-Length', async () => {
    const small = h.appWith({ maxBodyBytes: 1024 });
    const body = JSON.stringify({ image: 'busybox', stdin: 'x'.repeat(2048) });
    await expectError(await postJob(small, body), 413, 'payload_too_large');

    const chunked = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(body));
        controller.close();
      },
    });
    const res = await small.request('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body: chunked,
      duplex: 'half',
    } as RequestInit);
    await expectError(res, 413, 'payload_too_large');
  });

  it('the body limit spares the streamed uploads (image import, blobs) and nothing next to them', async () => {
    const small = h.appWith({ maxBodyBytes: 1024 });
    const big = (path: string) => small.request(path, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'content-length': '2048' }, body: 'x'.repeat(2048) });
    for (const path of ['/v1/images/import', '/v1/blobs', '/v1/blobs/upload']) assert.notEqual((await big(path)).status, 413, path);
    for (const path of ['/v1/images/importer', '/v1/blobsx', '/v1/jobs']) assert.equal((await big(path)).status, 413, path);
  });

  it('records nothing for a refused request', async () => {
    const before = await countJobs();
    await postJob(h.app, { image: 'busybox', limits: { pids: 1e6 } });
    await postJob(h.app, { image: 'nope' });
    assert.equal(await countJobs(), before);
  });
});

describe('the rest of the surface', () => {
  it('unknown routes are JSON 404s', async () => {
    await expectError(await h.app.request('/v2/nothing'), 404, 'not_found');
  });

  it('GET /healthz answers ok (liveness)', async () => {
    const res = await h.app.request('/healthz');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('GET /openapi.json describes the routes and schemas', async () => {
    const res = await h.app.request('/openapi.json');
    assert.equal(res.status, 200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } };
    assert.equal(doc.openapi, '3.1.0');
    for (const path of ['/v1/jobs', '/v1/jobs/{id}', '/v1/jobs/{id}/events', '/healthz', '/readyz', '/v1/system/status']) assert.ok(doc.paths[path], path);
    for (const schema of ['JobRequest', 'Job', 'JobResult', 'Limits', 'Error']) assert.ok(doc.components.schemas[schema], schema);
  });
});

async function countJobs(): Promise<number> {
  return (await listJobs(h.handle.db, { limit: 1_000_000 })).length;
}
