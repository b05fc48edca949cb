import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { serve, type ServerType } from '@hono/node-server';
import type { OutputChunkEvent } from '../../api/job-events-stream.js';
import type { JobView } from '../../api/schemas/job-view.js';
import { finishJob } from '../../db/jobs.js';
import { outputStreamKey } from '../../queue/redis-keys.js';
import { finish, okResult, postJob, startApiHarness, type ApiHarness, type ErrorJson } from './harness.js';
import { collectSse, readSse, type SseMessage } from './sse-client.js';

let h: ApiHarness;
let server: ServerType;
let base: string;
const KEEP_ALIVE_MS = 100;

before(async () => {
  h = await startApiHarness({ sseKeepAliveMs: KEEP_ALIVE_MS });
  await new Promise<void>((resolve) => {
    server = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve());
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise((resolve) => server.close(resolve));
  await h.close();
});

async function newJob(): Promise<string> {
  const res = await postJob(h.app, { image: 'busybox' });
  return ((await res.json()) as JobView).id;
}

function events(id: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${base}/v1/jobs/${id}/events`, { headers, signal: signal ?? null });
}

function chunkBytes(m: SseMessage): Buffer {
  const chunk = JSON.parse(m.data) as OutputChunkEvent;
  return Buffer.from(chunk.data, chunk.encoding === 'base64' ? 'base64' : 'utf8');
}

const binary = Buffer.from([0xff, 0x00, 0xfe, 0x0a]);

describe('GET /v1/jobs/{id}/events', () => {
  it('is a JSON 404 for an unknown job', async () => {
    const res = await events('01NOSUCHJOB000000000000000');
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as ErrorJson).error.code, 'job_not_found');
  });

  it('replays the output of a finished job, bytes exact, then end with the job', async () => {
    const id = await newJob();
    await finish(h, id, [
      { channel: 'stdout', data: Buffer.from('héllo\n') },
      { channel: 'stderr', data: binary },
    ]);
    const res = await events(id);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const messages = await collectSse(res.body!);
    assert.deepEqual(messages.map((m) => m.event), ['stdout', 'stderr', 'end']);
    assert.deepEqual(JSON.parse(messages[0]!.data), { data: 'héllo\n', encoding: 'utf8' });
    assert.equal((JSON.parse(messages[1]!.data) as OutputChunkEvent).encoding, 'base64');
    assert.ok(chunkBytes(messages[1]!).equals(binary));
    assert.ok(messages[0]!.id && messages[1]!.id, 'chunks carry their stream ids');
    const end = JSON.parse(messages[2]!.data) as JobView;
    assert.equal(end.id, id);
    assert.equal(end.status, 'finished');
    assert.deepEqual(end.result, okResult());
  });

  it('resumes after Last-Event-ID', async () => {
    const id = await newJob();
    await finish(h, id, [
      { channel: 'stdout', data: Buffer.from('one') },
      { channel: 'stdout', data: Buffer.from('two') },
    ]);
    const all = await collectSse((await events(id)).body!);
    const resumed = await collectSse((await events(id, { 'last-event-id': all[0]!.id! })).body!);
    assert.deepEqual(resumed.map((m) => m.event), ['stdout', 'end']);
    assert.equal(chunkBytes(resumed[0]!).toString(), 'two');
  });

  it('answers a malformed or out-of-range Last-Event-ID once, with a 400 naming the header, before any stream', async () => {
    const id = await newJob();
    await finish(h, id, [{ channel: 'stdout', data: Buffer.from('one') }]);
    // Redis stream ids are two unsigned 64-bit numbers; the first two are beyond them.
    const bads = ['99999999999999999999-0', '1-18446744073709551616', `${'0'.repeat(200)}1-0`, 'abc', '1', '1-', '-1-0', '1-2-3', '0x10-0', '1.5-0'];
    for (const bad of bads) {
      const res = await events(id, { 'last-event-id': bad });
      assert.equal(res.status, 400, `Last-Event-ID ${bad}`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const { error } = (await res.json()) as ErrorJson;
      assert.equal(error.code, 'invalid_request', bad);
      assert.equal(error.in, 'header', bad);
      assert.equal(error.field, 'last-event-id', bad);
      assert.match(error.message, /^last-event-id: /, bad);
    }
  });

  it('takes the largest stream id as Last-Event-ID (nothing after it: only end), and an empty one as none', async () => {
    const id = await newJob();
    await finish(h, id, [{ channel: 'stdout', data: Buffer.from('one') }]);
    const largest = await collectSse((await events(id, { 'last-event-id': '18446744073709551615-18446744073709551615' })).body!);
    assert.deepEqual(largest.map((m) => m.event), ['end']);
    const empty = await collectSse((await events(id, { 'last-event-id': '' })).body!);
    assert.deepEqual(empty.map((m) => m.event), ['stdout', 'end']);
  });

  it('sends only end for a finished job whose output has expired', async () => {
    const id = await newJob();
    await finish(h, id, [{ channel: 'stdout', data: Buffer.from('gone') }]);
    await h.redis.del(outputStreamKey(id));
    const messages = await collectSse((await events(id)).body!);
    assert.deepEqual(messages.map((m) => m.event), ['end']);
    assert.equal((JSON.parse(messages[0]!.data) as JobView).status, 'finished');
  });

  it('follows a running job live, with keep-alives while it is silent', async () => {
    const id = await newJob();
    const res = await events(id);
    const stream = readSse(res.body!);
    const first = await stream.next();
    assert.equal(first.value?.comment, 'keep-alive', 'a silent stream is kept alive');

    const worker = finish(h, id, [
      { channel: 'stdout', data: Buffer.from('live\n') },
      { channel: 'stderr', data: binary },
    ]);
    const seen: SseMessage[] = [];
    for await (const m of stream) if (m.comment === undefined) seen.push(m);
    await worker;
    assert.deepEqual(seen.map((m) => m.event), ['stdout', 'stderr', 'end']);
    assert.equal(chunkBytes(seen[0]!).toString(), 'live\n');
    assert.ok(chunkBytes(seen[1]!).equals(binary));
  });

  it('ends the events of a job that finished without an output stream', async () => {
    const id = await newJob();
    const res = await events(id);
    const messages = collectSse(res.body!);
    await new Promise((r) => setTimeout(r, 50));
    // A worker that died after recording the result, before writing any output or its end.
    await finishJob(h.handle.db, id, okResult(), Date.now());
    assert.deepEqual((await messages).map((m) => m.event), ['end']);
  });

  it('closes its Redis connection when the client goes away', async () => {
    const id = await newJob();
    const before = await clientCount();
    const abort = new AbortController();
    const res = await events(id, {}, abort.signal);
    await readSse(res.body!).next();
    assert.equal(await clientCount(), before + 1, 'one blocking connection for this client');
    abort.abort();
    await waitFor(async () => (await clientCount()) === before);
  });
});

async function clientCount(): Promise<number> {
  const list = (await h.redis.client('LIST')) as string;
  return list.split('\n').filter((line) => line.trim() !== '').length;
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
