/**
 * The private redis-server (no WARMBOX_REDIS_URL): its queue persists in the data directory
 * (AOF), so jobs accepted before the server died run after it starts again; it is restarted when
 * it dies; and it sits in a process group of its own, so a signal to the server's group (Ctrl-C,
 * systemd) cannot kill it before the server has stopped using it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterEach, describe, it } from 'node:test';
import { privateRedisPid } from '../helpers/private-redis.js';
import { startServer, type TestServer } from '../helpers/warmbox-server.js';

const BOUND_MS = 60_000;
let servers: TestServer[] = [];

afterEach(async () => {
  for (const s of servers.reverse()) await s.stop();
  servers = [];
});

async function start(opts: Parameters<typeof startServer>[0] = {}): Promise<TestServer> {
  const s = await startServer(opts);
  servers.push(s);
  return s;
}

function processGroup(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + BOUND_MS;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not within ${BOUND_MS} ms: ${what}`);
}

async function post(server: TestServer, body: object, wait: boolean): Promise<Response> {
  return fetch(`${server.url}/v1/jobs${wait ? '?wait=true' : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(BOUND_MS),
  });
}

async function jobStatus(server: TestServer, id: string): Promise<{ status: string; result?: { verdict: string; stdout: string } }> {
  const res = await fetch(`${server.url}/v1/jobs/${id}`);
  assert.equal(res.status, 200, `GET /v1/jobs/${id}`);
  return (await res.json()) as { status: string; result?: { verdict: string; stdout: string } };
}

describe('e2e: the private Redis', () => {
  it('lives in a process group of its own', async () => {
    const server = await start();
    const pid = await until('the private redis-server runs', () => privateRedisPid(server.dataDir));
    assert.notEqual(processGroup(pid), processGroup(server.process.pid!), 'a signal to the server\'s group must not reach its Redis');
  });

  it('is started again when it dies, and jobs run again', async () => {
    const server = await start();
    const first = await until('the private redis-server runs', () => privateRedisPid(server.dataDir));
    process.kill(first, 'SIGKILL');
    const second = await until('a new private redis-server', () => {
      const pid = privateRedisPid(server.dataDir);
      return pid !== undefined && pid !== first ? pid : undefined;
    });
    assert.ok(alive(second));
    const job = await until('a job runs after the restart', async () => {
      const res = await post(server, { image: 'busybox', cmd: ['echo', 'back'] }, true);
      return res.status === 200 ? ((await res.json()) as { result: { verdict: string; stdout: string } }) : undefined;
    });
    assert.equal(job.result.verdict, 'ok');
    assert.equal(job.result.stdout, 'back\n');
  });

  it('keeps the queue across a server killed with SIGKILL: jobs accepted before run after the next start', async () => {
    // One job at a time, the first one long: the others are still queued when the server dies.
    const env = { WARMBOX_CONCURRENCY: '1' };
    const first = await startServer({ env });
    const blocker = await post(first, { image: 'busybox', cmd: ['sleep', '5'] }, false);
    assert.equal(blocker.status, 202);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await post(first, { image: 'busybox', cmd: ['echo', `queued ${i}`] }, false);
      assert.equal(res.status, 202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    const redisPid = await until('the private redis-server runs', () => privateRedisPid(first.dataDir));
    first.process.kill('SIGKILL');
    await until('the private Redis follows its server', () => (alive(redisPid) ? undefined : true));

    const second = await start({ env, dataDir: first.dataDir });
    for (const [i, id] of ids.entries()) {
      const job = await until(`job ${id} finishes after the restart`, async () => {
        const j = await jobStatus(second, id);
        return j.status === 'finished' ? j : undefined;
      });
      assert.equal(job.result?.verdict, 'ok', JSON.stringify(job));
      assert.equal(job.result?.stdout, `queued ${i}\n`);
    }
  });
});
