/** The job API end to end: a real server, a real Redis, real sandboxes, over HTTP. */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startEmptyRegistry, type EmptyRegistry } from '../helpers/empty-registry.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

let redis: TestRedis;
let registry: EmptyRegistry;
let server: TestServer;

before(async () => {
  redis = await startRedis();
  // Unknown images are pulled on first use: from a registry that has none of them (not the Internet).
  registry = await startEmptyRegistry();
  server = await startServer({ redisUrl: redis.url, env: { WARMBOX_REGISTRY_DEFAULT: registry.host } });
});
after(async () => {
  await server?.stop();
  await registry?.stop();
  await redis?.stop();
});

async function post(path: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

describe('POST /v1/jobs', () => {
  it('answers 202 with an id, and GET /v1/jobs/:id later shows the finished job', async () => {
    const { status, json } = await post('/v1/jobs', { image: 'busybox', cmd: ['sh', '-c', 'echo hi; echo oops >&2; exit 3'] });
    assert.equal(status, 202);
    assert.equal(json.status, 'queued');
    assert.match(json.id, /^[0-9A-Z]{26}$/);
    let job: any;
    for (let i = 0; i < 200; i++) {
      job = await (await fetch(`${server.url}/v1/jobs/${json.id}`)).json();
      if (job.status === 'finished') break;
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(job.status, 'finished');
    assert.equal(job.image, 'docker.io/library/busybox:latest');
    assert.match(job.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(job.result.verdict, 'nonzero_exit');
    assert.equal(job.result.exitCode, 3);
    assert.equal(job.result.stdout, 'hi\n');
    assert.equal(job.result.stderr, 'oops\n');
    assert.match(job.result.start, /^(warm|cold)$/);
    for (const k of ['queuedMs', 'pullMs', 'acquireMs', 'runMs', 'totalMs']) assert.equal(typeof job.result.timings[k], 'number', k);
  });

  it('with ?wait=true answers 200 with the finished job', async () => {
    const { status, json } = await post('/v1/jobs?wait=true', { image: 'busybox', cmd: ['echo', 'waited'] });
    assert.equal(status, 200);
    assert.equal(json.status, 'finished');
    assert.equal(json.result.verdict, 'ok');
    assert.equal(json.result.exitCode, 0);
    assert.equal(json.result.stdout, 'waited\n');
    assert.ok(json.result.usage.cpuTimeMs >= 0);
    assert.ok(json.result.usage.memoryPeakBytes > 0);
  });

  it("runs the image's default command when cmd is absent (hello-world)", async () => {
    const { json } = await post('/v1/jobs?wait=true', { image: 'hello-world' });
    assert.equal(json.result.verdict, 'ok');
    assert.match(json.result.stdout, /Hello from warmbox!/);
  });

  it('feeds stdin, sets env and places files in the working directory', async () => {
    const { json } = await post('/v1/jobs?wait=true', {
      image: 'busybox',
      cmd: ['sh', '-c', 'cat; echo "$GREETING"; cat dir/data.txt; ls -l run.sh | cut -c1-10; ./run.sh'],
      stdin: 'from stdin\n',
      env: { GREETING: 'hello env' },
      files: [
        { path: 'dir/data.txt', content: 'file content\n' },
        { path: 'run.sh', content: Buffer.from('#!/bin/sh\necho script ran\n').toString('base64'), encoding: 'base64', mode: 0o755 },
      ],
    });
    assert.equal(json.result.verdict, 'ok', JSON.stringify(json.result));
    assert.equal(json.result.stdout, 'from stdin\nhello env\nfile content\n-rwxr-xr-x\nscript ran\n');
  });

  it('returns output that is not UTF-8 as base64', async () => {
    const { json } = await post('/v1/jobs?wait=true', { image: 'busybox', cmd: ['printf', '\\377\\376A'] });
    assert.equal(json.result.stdoutEncoding, 'base64');
    assert.deepEqual(Buffer.from(json.result.stdout, 'base64'), Buffer.from([0xff, 0xfe, 0x41]));
  });

  it('reports a command that does not exist like a shell does (127)', async () => {
    const { json } = await post('/v1/jobs?wait=true', { image: 'busybox', cmd: ['no-such-command'] });
    assert.equal(json.result.verdict, 'nonzero_exit');
    assert.equal(json.result.exitCode, 127);
    assert.match(json.result.stderr, /executable file not found/);
  });
});

describe('bad input', () => {
  it('answers 404 naming an unknown image', async () => {
    const { status, json } = await post('/v1/jobs', { image: 'no-such-image:1.0', cmd: ['true'] });
    assert.equal(status, 404);
    assert.equal(json.error.code, 'image_not_found');
    assert.match(json.error.message, /no-such-image/);
  });

  it('answers 400 for malformed JSON', async () => {
    const { status, json } = await post('/v1/jobs', '{"image": ');
    assert.equal(status, 400);
    assert.equal(typeof json.error.code, 'string');
  });

  it('answers 400 naming the field of a wrong type', async () => {
    const { status, json } = await post('/v1/jobs', { image: 'busybox', cmd: 'echo hi' });
    assert.equal(status, 400);
    assert.match(JSON.stringify(json.error), /cmd/);
  });

  it('answers 422 for a limit above the server maximum', async () => {
    const { status, json } = await post('/v1/jobs', { image: 'busybox', cmd: ['true'], limits: { memoryBytes: 1e15 } });
    assert.equal(status, 422);
    assert.match(JSON.stringify(json.error), /memoryBytes/);
  });

  it('answers 404 as JSON for an unknown job', async () => {
    const res = await fetch(`${server.url}/v1/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV`);
    assert.equal(res.status, 404);
    assert.equal((await res.json()).error.code, 'job_not_found');
  });
});

describe('client connections', () => {
  /** GET /healthz on `agent`: the status, and whether the agent sent it on a connection it already had. */
  function health(agent: Agent): Promise<{ status: number; reused: boolean; keepAlive: string | undefined }> {
    return new Promise((resolve, reject) => {
      const req = request(`${server.url}/healthz`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket, keepAlive: res.headers['keep-alive'] as string | undefined }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it("keeps an idle connection open past Node's 5 s default, and says for how long", async () => {
    // A proxy in front (nginx, a cloud load balancer) reuses its idle upstream connections for 60 s:
    // one the server closed first fails the request the proxy sends on it.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await health(agent);
      assert.equal(first.status, 200);
      assert.equal(first.keepAlive, 'timeout=65');
      await new Promise((r) => setTimeout(r, 6000));
      const second = await health(agent);
      assert.equal(second.status, 200);
      assert.equal(second.reused, true, 'the server closed the idle connection');
    } finally {
      agent.destroy();
    }
  });
});

describe('GET /openapi.json', () => {
  it('describes the job routes from the same schemas', async () => {
    const doc = await (await fetch(`${server.url}/openapi.json`)).json();
    assert.match(doc.openapi, /^3\./);
    assert.ok(doc.paths['/v1/jobs']?.post);
    assert.ok(doc.paths['/v1/jobs/{id}']?.get);
  });
});
