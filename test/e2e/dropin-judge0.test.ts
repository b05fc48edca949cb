/**
 * The Judge0 CE drop-in against a real server, Redis and sandboxes, with the requests and answers
 * of Judge0's API documentation (create a submission, wait, base64, batch, statuses, languages,
 * callback_url). The documentation's program is C; here it is the same program in a "compiled"
 * shell language (a preset whose build makes an executable from main.sh, busybox image), so the
 * test needs no language image: the build-once path is the same.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

/** Judge0 id of the test's language. */
const SHC = 1001;
const PRESET = {
  id: 'shc',
  name: 'Shell, compiled (test)',
  version: '1.0',
  image: 'busybox',
  sourceFile: 'main.sh',
  build: ['sh', '-c', "sh -n main.sh && { echo '#!/bin/sh'; cat main.sh; } > prog && chmod 755 prog && echo compiled"],
  run: ['./prog'],
  judge0Id: SHC,
};

/** Judge0's documentation example: read a name, greet it. */
const HELLO = 'read name\nprintf "hello, %s\\n" "$name"\n';

let redis: TestRedis;
let server: TestServer;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warmbox-judge0-'));
  writeFileSync(join(dir, 'languages.json'), JSON.stringify([PRESET]));
  redis = await startRedis();
  server = await startServer({ redisUrl: redis.url, env: { WARMBOX_LANGUAGES_FILE: join(dir, 'languages.json'), WARMBOX_WEBHOOK_ALLOW: 'loopback' } });
});
after(async () => {
  await server?.stop();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
  return { status: res.status, json: await res.json() };
}

/** Polls GET /submissions/{token} as a Judge0 client does, until the status is past Processing. */
async function finished(token: string, query = ''): Promise<any> {
  for (;;) {
    const { status, json } = await call('GET', `/submissions/${token}${query}`);
    assert.equal(status, 200);
    if (json.status.id > 2) return json;
    await sleep(100);
  }
}

describe('Judge0 drop-in: statuses and languages', () => {
  it('GET /statuses lists Judge0 CE statuses', async () => {
    const { status, json } = await call('GET', '/statuses');
    assert.equal(status, 200);
    assert.deepEqual(json.slice(0, 3), [
      { id: 1, description: 'In Queue' },
      { id: 2, description: 'Processing' },
      { id: 3, description: 'Accepted' },
    ]);
    assert.deepEqual(json[12], { id: 13, description: 'Internal Error' });
  });

  it('GET /languages lists each language once with its Judge0 id', async () => {
    const { json } = await call('GET', '/languages');
    assert.ok(json.some((l: any) => l.id === SHC && l.name === PRESET.name));
    assert.ok(json.some((l: any) => l.id === 71), 'python keeps its Judge0 CE id');
    const { json: one } = await call('GET', `/languages/${SHC}`);
    assert.equal(one.source_file, 'main.sh');
    assert.equal(one.run_cmd, './prog');
  });
});

describe('Judge0 drop-in: submissions', () => {
  it('creates a submission and answers its token; the result is the program run on stdin', { timeout: 120_000 }, async () => {
    const { status, json } = await call('POST', '/submissions', { source_code: HELLO, language_id: SHC, stdin: 'world' });
    assert.equal(status, 201);
    assert.deepEqual(Object.keys(json), ['token']);
    const done = await finished(json.token);
    assert.deepEqual(Object.keys(done).sort(), ['compile_output', 'memory', 'message', 'status', 'stderr', 'stdout', 'time', 'token'].sort());
    assert.equal(done.stdout, 'hello, world\n');
    assert.deepEqual(done.status, { id: 3, description: 'Accepted' });
    assert.equal(done.stderr, null);
    assert.equal(done.compile_output, 'compiled\n');
    assert.match(done.time, /^\d+\.\d{3}$/);
    assert.equal(typeof done.memory, 'number');
    assert.equal(done.token, json.token);
  });

  it('refuses what Judge0 refuses, in its shape', async () => {
    const missing = await call('POST', '/submissions', { source_code: HELLO });
    assert.equal(missing.status, 422);
    assert.deepEqual(missing.json, { language_id: ["can't be blank"] });
    const unknown = await call('POST', '/submissions', { source_code: HELLO, language_id: 150000, stdin: 'world', expected_output: 'hello, world' });
    assert.equal(unknown.status, 422);
    assert.deepEqual(unknown.json, { language_id: ["language with id 150000 doesn't exist"] });
    const tooLong = await call('POST', '/submissions', { source_code: HELLO, language_id: SHC, wall_time_limit: 100000 });
    assert.equal(tooLong.status, 422);
    assert.ok(Array.isArray(tooLong.json.wall_time_limit), JSON.stringify(tooLong.json));
    const nothing = await call('GET', '/submissions/01JD3Z8Q8V6W7X9Y0Z1A2B3C4D');
    assert.equal(nothing.status, 404);
  });

  it('wait=true answers with the result; expected_output is compared as Judge0 does (trailing whitespace ignored)', { timeout: 120_000 }, async () => {
    const { status, json } = await call('POST', '/submissions?wait=true', { source_code: HELLO, language_id: String(SHC), stdin: 'Judge0', expected_output: 'hello, Judge0  \n\n' });
    assert.equal(status, 201);
    assert.equal(json.stdout, 'hello, Judge0\n');
    assert.deepEqual(json.status, { id: 3, description: 'Accepted' });
    const wrong = await call('POST', '/submissions?wait=true', { source_code: HELLO, language_id: SHC, stdin: 'Judge0', expected_output: 'hello, world' });
    assert.deepEqual(wrong.json.status, { id: 4, description: 'Wrong Answer' });
  });

  it('gives Judge0 statuses for compile errors, exit codes, signals and time limits', { timeout: 180_000 }, async () => {
    const run = async (source: string, more: Record<string, unknown> = {}) =>
      (await call('POST', '/submissions?wait=true&fields=status_id,compile_output,exit_code,exit_signal,message', { source_code: source, language_id: SHC, ...more })).json;
    const broken = await run('if then fi (\n');
    assert.equal(broken.status_id, 6);
    assert.match(broken.compile_output, /syntax error/);
    const nzec = await run('exit 3\n');
    assert.equal(nzec.status_id, 11);
    assert.equal(nzec.exit_code, 3);
    const segv = await run('kill -SEGV $$\n');
    assert.equal(segv.status_id, 7);
    assert.equal(segv.exit_signal, 11);
    const loop = await run('while :; do :; done\n', { cpu_time_limit: 0.5, wall_time_limit: 5 });
    assert.equal(loop.status_id, 5, JSON.stringify(loop));
  });

  it('base64_encoded=true: attributes go in and come out as base64', { timeout: 120_000 }, async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const { status, json } = await call('POST', '/submissions?base64_encoded=true', { source_code: b64(HELLO), language_id: SHC, stdin: b64('Judge0') });
    assert.equal(status, 201);
    const done = await finished(json.token, '?base64_encoded=true');
    assert.equal(done.stdout, b64('hello, Judge0\n'));
    const binary = await call('POST', '/submissions?wait=true', { source_code: "printf '\\377\\376'\n", language_id: SHC });
    assert.equal(binary.status, 400, `output that is not UTF-8 needs base64_encoded=true, as in Judge0: ${JSON.stringify(binary.json)}`);
    const again = await call('GET', `/submissions/${binary.json.token ?? ''}?base64_encoded=true`);
    assert.ok(again.status === 404 || again.status === 200);
  });

  it('batches: created together, each refused or tokened, read back by tokens', { timeout: 120_000 }, async () => {
    const created = await call('POST', '/submissions/batch', { submissions: [{ source_code: HELLO, language_id: SHC, stdin: 'a' }, { source_code: HELLO }] });
    assert.equal(created.status, 201);
    assert.equal(typeof created.json[0].token, 'string');
    assert.deepEqual(created.json[1], { language_id: ["can't be blank"] });
    await finished(created.json[0].token);
    const read = await call('GET', `/submissions/batch?tokens=${created.json[0].token},nope&fields=stdout,status_id`);
    assert.deepEqual(read.json.submissions, [{ stdout: 'hello, a\n', status_id: 3 }, null]);
  });

  it('PUTs the finished submission to callback_url, base64-encoded, as Judge0 does', { timeout: 120_000 }, async () => {
    const received: { method?: string; body?: any } = {};
    const got = new Promise<void>((resolve) => {
      receiver = createServer((req, res) => {
        let data = '';
        req.on('data', (c: Buffer) => (data += c));
        req.on('end', () => {
          Object.assign(received, { method: req.method, body: JSON.parse(data) });
          res.end();
          resolve();
        });
      });
    });
    await new Promise<void>((resolve) => receiver!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver!.address() as AddressInfo).port}/judge0`;
    const { json } = await call('POST', '/submissions', { source_code: HELLO, language_id: SHC, stdin: 'callback', callback_url: url });
    await got;
    receiver!.close();
    assert.equal(received.method, 'PUT');
    assert.equal(received.body.token, json.token);
    assert.equal(received.body.status.id, 3);
    assert.equal(Buffer.from(received.body.stdout, 'base64').toString(), 'hello, callback\n');
  });
});

let receiver: Server | undefined;
