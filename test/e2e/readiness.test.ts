/**
 * GET /readyz says whether the server can do its work now, each dependency checked within a bound;
 * GET /healthz only that the process answers. A real server on a real Redis, which the test stops
 * (SIGSTOP: it hangs) and kills; and a data directory on a disk of its own that the test fills.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startRedis, startRedisOn, type TestRedis } from '../helpers/redis.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

/** Far above the readiness bound (2 s per check): an answer later than this is a hang. */
const HANG_MS = 15_000;
/** How long the server's connections may take to come back after Redis does (ioredis backs off up to 2 s). */
const RECOVERY_MS = 60_000;

interface Readiness {
  status: 'ready' | 'not_ready';
  checks: { name: string; ok: boolean; error?: string; ms: number }[];
}

async function readyz(url: string): Promise<{ status: number; retryAfter: string | null; body: Readiness }> {
  const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(HANG_MS) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Readiness };
}

function failing(body: Readiness): string[] {
  return body.checks.filter((c) => !c.ok).map((c) => c.name);
}

describe('e2e: /readyz follows Redis', () => {
  let redis: TestRedis;
  let server: TestServer;
  before(async () => {
    redis = await startRedis();
    server = await startServer({ redisUrl: redis.url });
  });
  after(async () => {
    // A server whose Redis went away may not stop on SIGTERM (issue 10's graceful stop, not what this file tests): bounded.
    const kill = setTimeout(() => server?.process.kill('SIGKILL'), 30_000);
    await server?.stop();
    clearTimeout(kill);
    try {
      process.kill(redis.pid, 'SIGCONT');
    } catch {
      // already gone
    }
    await redis?.stop();
  });

  it('answers 200 on a healthy server, naming every check: redis, db, and the worker beside the API (launcher, cgroups)', async () => {
    const { status, body } = await readyz(server.url);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.status, 'ready');
    assert.deepEqual(body.checks.map((c) => c.name).sort(), ['cgroups', 'db', 'launcher', 'redis']);
    for (const c of body.checks) assert.ok(c.ok && c.error === undefined, JSON.stringify(c));
  });

  it('answers 503 naming redis, within its bound, while Redis hangs (SIGSTOP); /healthz stays 200', async () => {
    process.kill(redis.pid, 'SIGSTOP');
    try {
      const { status, retryAfter, body } = await readyz(server.url);
      assert.equal(status, 503, JSON.stringify(body));
      assert.equal(body.status, 'not_ready');
      assert.deepEqual(failing(body), ['redis']);
      assert.match(body.checks.find((c) => c.name === 'redis')!.error!, /no answer within/);
      assert.ok(Number(retryAfter) > 0, 'a 503 says when to retry');
      assert.equal((await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(HANG_MS) })).status, 200, 'liveness does not depend on Redis');
    } finally {
      process.kill(redis.pid, 'SIGCONT');
    }
    const back = await readyz(server.url);
    assert.equal(back.status, 200, JSON.stringify(back.body));
  });

  it('answers 503 naming redis when Redis is killed; the routes that read Redis answer 503 too, at once', async () => {
    process.kill(redis.pid, 'SIGKILL');
    await redis.stop();
    const { status, body } = await readyz(server.url);
    assert.equal(status, 503, JSON.stringify(body));
    assert.deepEqual(failing(body), ['redis']);
    for (const path of ['/v1/system/df', '/v1/pools', '/v1/queue']) {
      const res = await fetch(`${server.url}${path}`, { signal: AbortSignal.timeout(HANG_MS) });
      const answer = (await res.json()) as { error: { code: string } };
      assert.equal(res.status, 503, `${path}: ${JSON.stringify(answer)}`);
      assert.equal(answer.error.code, 'redis_unavailable', path);
    }
  });

  it('answers 200 again once Redis is back, without a restart', async () => {
    redis = await startRedisOn(redis.port);
    let last: Awaited<ReturnType<typeof readyz>> | undefined;
    for (const deadline = Date.now() + RECOVERY_MS; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      last = await readyz(server.url);
      if (last.status === 200) break;
    }
    assert.equal(last?.status, 200, JSON.stringify(last?.body));
  });
});

describe('e2e: /readyz follows the data disk', () => {
  let mountDir: string;
  let mounted = false;
  let redis: TestRedis;
  let server: TestServer;
  const filler = () => join(mountDir, 'filler');

  before(async () => {
    mountDir = await makeTempDir('readyz-disk');
    // A disk of its own, small enough to fill (the tests run as root); the data directory inside it.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m,mode=0700', 'warmbox-test-readyz', mountDir]);
    mounted = true;
    const dataDir = join(mountDir, 'data');
    mkdirSync(dataDir);
    redis = await startRedis();
    // The server's log goes beside the small disk, not on it: writing it must not fail when the disk is full.
    server = await startServer({ redisUrl: redis.url, dataDir, logDir: dirname(mountDir) });
  });
  after(async () => {
    await server?.stop();
    if (server) rmSync(server.logFile, { force: true });
    await redis?.stop();
    if (mounted) execFileSync('umount', [mountDir]);
    await removeTempDir(mountDir);
  });

  it('answers 200 while the disk has room', async () => {
    const { status, body } = await readyz(server.url);
    assert.equal(status, 200, JSON.stringify(body));
  });

  it('answers 503 naming db once the disk is full, and 200 again once there is room', async () => {
    assert.throws(() => writeFileSync(filler(), Buffer.alloc(64 << 20)), /ENOSPC/);
    try {
      const { status, body } = await readyz(server.url);
      assert.equal(status, 503, JSON.stringify(body));
      assert.deepEqual(failing(body), ['db']);
      const db = body.checks.find((c) => c.name === 'db')!;
      assert.match(db.error!, /disk is full/);
      assert.doesNotMatch(db.error!, new RegExp(mountDir), 'no host path in the answer');
    } finally {
      rmSync(filler(), { force: true });
    }
    const back = await readyz(server.url);
    assert.equal(back.status, 200, JSON.stringify(back.body));
  });
});
