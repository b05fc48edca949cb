/** `warmbox run` and `warmbox server` as a user types them, against a real server with its private Redis. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startEmptyRegistry, type EmptyRegistry } from '../helpers/empty-registry.js';
import { freePort, runCli, startServer, type TestServer } from '../helpers/warmbox-server.js';

let registry: EmptyRegistry;
let server: TestServer;
let env: Record<string, string>;

before(async () => {
  // Unknown images are pulled on first use: from a registry that has none of them (not the Internet).
  registry = await startEmptyRegistry();
  server = await startServer({ env: { WARMBOX_REGISTRY_DEFAULT: registry.host } }); // no WARMBOX_REDIS_URL: the server starts its own redis-server
  env = { WARMBOX_URL: server.url };
});
after(async () => {
  await server?.stop();
  await registry?.stop();
});

describe('warmbox run', () => {
  it('hello-world prints what just happened, from inside a sandbox', async () => {
    const r = await runCli(['run', 'hello-world'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Hello from warmbox!/);
    assert.match(r.stdout, /snapshot store/);
    assert.match(r.stdout, /sandbox/);
  });

  it('streams stdout and stderr apart and exits with the job status', async () => {
    const r = await runCli(['run', 'busybox', '--', 'sh', '-c', 'echo hi; echo oops >&2; exit 3'], env);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'hi\n');
    assert.equal(r.stderr, 'oops\n');
  });

  it('passes -e variables and -i stdin, and takes options only before the image', async () => {
    const r = await runCli(['run', '-i', '-e', 'NAME=world', 'busybox', 'sh', '-c', 'echo "hello $NAME"; cat; echo -e x'], env, 'piped\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello world\npiped\nx\n');
  });

  it('exits 137 and says why when a limit kills the job', async () => {
    const r = await runCli(['run', '--timeout', '300ms', 'busybox', '--', 'sleep', '5'], env);
    assert.equal(r.code, 137);
    assert.match(r.stderr, /time limit/);
  });

  it('fails with 125 and a clear line for an unknown image', async () => {
    const r = await runCli(['run', 'no-such-image', 'true'], env);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /^Unable to find image 'no-such-image:latest' locally\nwarmbox: .*not found/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('documents its flags in --help', async () => {
    const r = await runCli(['run', '--help']);
    assert.equal(r.code, 0);
    for (const flag of ['-e, --env', '--memory', '--timeout', '-i, --interactive']) assert.ok(r.stdout.includes(flag), flag);
  });

  it('says how to reach the server when it is not running', async () => {
    const r = await runCli(['run', 'busybox', 'true'], { WARMBOX_URL: `http://127.0.0.1:${await freePort()}` });
    assert.equal(r.code, 125);
    assert.match(r.stderr, /cannot reach the warmbox server/);
  });
});

describe('warmbox server start-up failures', () => {
  it('exits non-zero with one clear line when Redis is unreachable', async () => {
    const port = await freePort();
    const r = await runCli(['server'], { WARMBOX_DATA: server.dataDir + '/other', WARMBOX_LISTEN: `127.0.0.1:${await freePort()}`, WARMBOX_REDIS_URL: `redis://127.0.0.1:${port}` });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`cannot reach Redis at redis://127.0.0.1:${port}`));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });

  it('names the command that builds a missing launcher', async () => {
    const r = await runCli(['server'], {
      WARMBOX_DATA: server.dataDir + '/third',
      WARMBOX_LISTEN: `127.0.0.1:${await freePort()}`,
      WARMBOX_LAUNCHER: '/nonexistent/warmbox-launcher',
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /npm run setup/);
  });

  it('rejects a malformed setting naming the variable', async () => {
    const r = await runCli(['server'], { WARMBOX_LISTEN: 'not-an-address' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /WARMBOX_LISTEN/);
  });
});
