/** `warmbox status` (GET /v1/system/status) against a running server, and against no server at all. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort, runCli, startServer, type TestServer } from '../helpers/warmbox-server.js';

let server: TestServer;

before(async () => {
  server = await startServer({ env: { WARMBOX_PREWARM: 'busybox=1' } });
});
after(async () => {
  await server?.stop();
});

interface Status {
  api: { pid: number; uptimeS: number; versions: { warmbox: string; node: string; kernel: string } };
  readiness: { status: string; checks: { name: string; ok: boolean }[] };
  workers: { id: string; hostname: string; pid: number; concurrency: number; runningJobs: number; lastHeartbeat: number; versions: { cgroup: string } }[];
  pools: { image: string; parked: number }[];
  queue: { queued: number; running: number; oldestQueuedAgeMs: number | null };
}

describe('warmbox status', () => {
  it('--format json prints GET /v1/system/status: the API, readiness, the worker, the pools, the queue, versions', async () => {
    const r = await runCli(['status', '--format', 'json'], { WARMBOX_URL: server.url });
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as Status;
    assert.equal(s.api.pid, server.process.pid);
    assert.ok(s.api.uptimeS >= 0);
    assert.equal(s.api.versions.node, process.versions.node);
    assert.equal(s.readiness.status, 'ready');
    assert.deepEqual(s.readiness.checks.map((c) => c.name).sort(), ['cgroups', 'db', 'launcher', 'redis']);
    assert.equal(s.workers.length, 1);
    const [w] = s.workers;
    assert.equal(w!.pid, server.process.pid, 'the worker beside the API');
    assert.equal(w!.concurrency, 8);
    assert.equal(w!.runningJobs, 0);
    assert.ok(Date.now() - w!.lastHeartbeat < 10_000, 'a recent heartbeat');
    assert.match(w!.versions.cgroup, /^v[12]$/);
    assert.deepEqual(s.queue, { queued: 0, running: 0, oldestQueuedAgeMs: null });
    assert.ok(s.pools.some((p) => p.image === 'docker.io/library/busybox:latest'), JSON.stringify(s.pools));
  });

  it('prints a table by default, like docker info', async () => {
    const r = await runCli(['status', '--url', server.url]);
    assert.equal(r.code, 0, r.stderr);
    for (const text of [`Server: ${server.url}`, 'Version: warmbox ', 'Uptime: ', 'Ready: yes', 'redis', 'launcher', 'Queue: 0 queued, 0 running', 'Workers: 1', 'LAST HEARTBEAT', 'Pools: ', 'busybox']) {
      assert.ok(r.stdout.includes(text), `${JSON.stringify(text)} in:\n${r.stdout}`);
    }
  });

  it('exits non-zero with a clear message when no server answers', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const r = await runCli(['status', '--url', url]);
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^warmbox: cannot reach the warmbox server at ${url}.*is \`warmbox server\` running\\?`));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  it('documents itself in --help and refuses an unknown format', async () => {
    const help = await runCli(['status', '--help']);
    assert.equal(help.code, 0);
    for (const text of ['--format FORMAT', '--url URL', 'not ready']) assert.ok(help.stdout.includes(text), text);
    const bad = await runCli(['status', '--format', 'yaml', '--url', server.url]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--format: expected table or json/);
  });
});
