/**
 * The Piston v2 drop-in, driven by the published `piston-client` package unchanged, as a Piston
 * user would: runtimes, an interpreted run (busybox sh) with stdin and args, a "compiled" language
 * (a preset whose build makes an executable: compile and run stages), a compile error, an unknown
 * runtime.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import piston from 'piston-client';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

const PRESET = {
  id: 'shc',
  name: 'Shell, compiled (test)',
  version: '1.0.0',
  image: 'busybox',
  sourceFile: 'main.sh',
  build: ['sh', '-c', "sh -n main.sh && { echo '#!/bin/sh'; cat main.sh; } > prog && chmod 755 prog && echo compiled"],
  run: ['./prog'],
  aliases: ['shellc'],
};

let redis: TestRedis;
let server: TestServer;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warmbox-piston-'));
  writeFileSync(join(dir, 'languages.json'), JSON.stringify([PRESET]));
  redis = await startRedis();
  server = await startServer({ redisUrl: redis.url, env: { WARMBOX_LANGUAGES_FILE: join(dir, 'languages.json') } });
});
after(async () => {
  await server?.stop();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Piston drop-in, with piston-client', () => {
  it('lists runtimes with their aliases', async () => {
    const runtimes = await piston({ server: server.url }).runtimes();
    assert.ok(runtimes.some((r: any) => r.language === 'shc' && r.version === '1.0.0' && r.aliases.includes('shellc')));
    assert.ok(runtimes.some((r: any) => r.language === 'python' && r.aliases.includes('py')));
  });

  it('runs an interpreted program with stdin and args (the client sends 1 2 3 by default)', { timeout: 120_000 }, async () => {
    const result = await piston({ server: server.url }).execute('sh', 'echo "args: $*"; read line; echo "read: $line"; echo oops >&2', { stdin: 'hello' });
    assert.equal(result.language, 'sh');
    assert.equal(result.compile, undefined);
    assert.equal(result.run!.stdout, 'args: 1 2 3\nread: hello\n');
    assert.equal(result.run!.stderr, 'oops\n');
    assert.equal(result.run!.output, 'args: 1 2 3\nread: hello\noops\n');
    assert.equal(result.run!.code, 0);
    assert.equal(result.run!.signal, null);
  });

  it('compiles once and runs: compile and run stages', { timeout: 120_000 }, async () => {
    const result = await piston({ server: server.url }).execute('shc', 'echo built; exit 4', { args: [] });
    assert.equal(result.language, 'shc');
    assert.equal(result.compile!.code, 0);
    assert.equal(result.compile!.stdout, 'compiled\n');
    assert.equal(result.run!.stdout, 'built\n');
    assert.equal(result.run!.code, 4);
  });

  it('a compile error has a compile stage and no run, as Piston answers', { timeout: 120_000 }, async () => {
    const result = await piston({ server: server.url }).execute('shc', 'if then fi (\n');
    assert.notEqual(result.compile!.code, 0);
    assert.match(result.compile!.stderr, /syntax error/);
    assert.equal(result.run, undefined);
  });

  it('a time limit kills the run with SIGKILL', { timeout: 120_000 }, async () => {
    const result = await piston({ server: server.url }).execute('sh', 'while :; do :; done', { runTimeout: 500 });
    assert.equal(result.run!.signal, 'SIGKILL');
    assert.equal(result.run!.code, null);
  });

  it('takes an alias and a version range', { timeout: 120_000 }, async () => {
    const res = await fetch(`${server.url}/api/v2/execute`, { method: 'POST', body: JSON.stringify({ language: 'shellc', version: '*', files: [{ name: 'x.sh', content: 'echo via alias' }] }) });
    assert.equal(res.status, 200);
    const result = (await res.json()) as { language: string; run: { stdout: string } };
    assert.equal(result.language, 'shc');
    assert.equal(result.run.stdout, 'via alias\n');
  });

  it('an unknown runtime is refused with a message', async () => {
    const res = await fetch(`${server.url}/api/v2/execute`, { method: 'POST', body: JSON.stringify({ language: 'cobol', version: '*', files: [{ content: 'x' }] }) });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { message: 'cobol-* runtime is unknown' });
  });
});
